//! Protocol drift: the surface of a codex, the difference between two, and whether a codex has
//! what a cas command relies on.

pub mod compat;
pub mod diff;
pub mod surface;

pub use surface::Surface;
