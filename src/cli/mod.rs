//! The command-line front end: argument definitions and one module per command.

pub mod args;
pub mod audit_cmd;
pub mod dev_cmd;
pub mod graph_cmd;
pub mod live;
pub mod live_apply;
pub mod plan_cmd;
pub mod snapshot_cmd;
pub mod source;

pub use args::{Cli, Command};
