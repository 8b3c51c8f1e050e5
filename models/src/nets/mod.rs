//! One module per network. Each documents its source, input and output shapes, and loads the
//! weight names written by [`crate::convert`].

pub mod antispoof;
pub mod blazeface;
pub mod emotion;
pub mod face_recognition;
pub mod facemesh;
pub mod minifasnet;
mod mobile_blocks;
pub mod mobilefacenet;
pub mod ultraface;
