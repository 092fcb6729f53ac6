//! Integration tests (one binary so the crate is linked once).
// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod world_file;
