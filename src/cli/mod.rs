//! The command-line front end: argument definitions and one module per command.

pub mod args;

pub use args::{Cli, Command};
