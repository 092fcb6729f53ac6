//! Integration tests: one binary, because every test binary that links the AWS SDKs is a large
//! link. The moto-backed tests skip (saying so) only when MOTO_ENDPOINT is unset; scripts/test
//! starts moto and sets it.

mod aws_common;
mod aws_config;
mod aws_errors;
mod aws_inventory;
mod aws_scale;
mod aws_seed;
mod aws_sink;
