//! The command-line front end: argument definitions and one module per command.

pub mod args;
pub mod dev_cmd;
pub mod plan_cmd;
pub mod source;

pub use args::{Cli, Command};
