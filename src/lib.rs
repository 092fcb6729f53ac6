//! lbsg: who can reach a Service behind the AWS Load Balancer Controller, through which
//! security group, and why a rule is missing.
#![forbid(unsafe_code)]

pub mod cli;
pub mod core;
pub mod devtools;
pub mod infra;
pub mod tui;
pub mod world;
