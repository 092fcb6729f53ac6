//! Adapters to the outside world: they turn clients' objects into the World and plans into calls.

pub mod kube;
