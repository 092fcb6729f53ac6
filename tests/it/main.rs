//! Integration tests, one binary so the crate is linked once. The Kubernetes side runs against
//! a fake kube-apiserver in this crate (`fake_apiserver`), the AWS side against moto on
//! loopback (`scripts/moto`, started by scripts/test); never a real cluster or account.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod audit;
mod aws_common;
mod aws_config;
mod aws_errors;
mod aws_faults;
mod aws_inventory;
mod aws_scale;
mod aws_seed;
mod aws_sink;
mod cli_plan;
mod fake_apiserver;
mod fuzz_smoke;
mod kube_client;
mod kube_controller;
mod kube_patch;
mod kube_support;
mod kube_watch;
mod live_cli;
mod live_cli_errors;
mod live_cli_rules;
mod live_cli_support;
mod live_faults;
mod moto_proxy;
mod props;
mod safety;
mod tui_e2e;
mod tui_live;
mod tui_live_aws;
mod world_file;
mod world_file_malformed;
mod world_file_roundtrip;
