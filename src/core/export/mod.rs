//! Exports of core results in standard formats.

pub mod sarif;
