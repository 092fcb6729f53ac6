//! Developer tools that are part of the library but not of the product: the deterministic world
//! generator behind `lbsg dev gen-world`, the benchmarks and the property tests.

pub mod edits;
pub mod fuzz;
pub mod worldgen;
