//! Helpers shared by the integration tests.

pub mod abx;
pub mod regf;
