//! Adapters to the outside world (AWS, Kubernetes): they turn clients' objects into the World
//! and plans into calls. Nothing here decides what the LBC would do; that is the core's job.

pub mod aws;
pub mod kube;
