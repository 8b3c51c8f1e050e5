//! Components shared by the pages; one file each.
pub mod camera_problem;
pub mod capture_view;
pub mod icons;
pub mod link_problem;
pub mod outcome;
pub mod verify;
pub mod welcome;
