//! One module per page.
#[cfg(feature = "demo")]
pub mod home;
pub mod not_found;
pub mod session;
