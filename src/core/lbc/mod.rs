//! The AWS Load Balancer Controller's security-group semantics, as pure functions.
//! Mirrors `lbc-semantics.md`; each file is one layer.

pub mod annotations;
pub mod aws_error;
pub mod backend_sg;
pub mod config;
pub mod ingress;
pub mod manage_rules;
pub mod model;
pub mod naming;
pub mod reconcile;
pub mod resolve;
pub mod service;
pub mod tags;
pub mod target;
pub mod webhook;
