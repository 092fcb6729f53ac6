//! Adapters between the outside world (AWS, Kubernetes) and the plain World types.

pub mod aws;
