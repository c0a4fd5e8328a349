//! Protocol drift: the surface of a codex, the difference between two, and whether a codex has
//! what a cas command relies on.

pub mod classify;
pub mod compat;
pub mod deep;
pub mod diff;
pub mod payload;
pub mod responses;
pub mod side;
pub mod surface;

pub use side::{load_side, scratch_dir, surface_in, surface_of_binary, Comparison, DiffReport};
pub use surface::Surface;
