//! Integration tests over HTTP, one binary. The Kubernetes side runs against a fake
//! kube-apiserver in this crate (`fake_apiserver`), never a real cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod fake_apiserver;
mod fuzz_smoke;
mod kube_client;
mod kube_controller;
mod kube_patch;
mod kube_support;
mod kube_watch;
mod props;
