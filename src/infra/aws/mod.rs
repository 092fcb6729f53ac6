//! The live AWS side: one `SdkConfig`, the EC2 and ELBv2 clients, the inventory (describes →
//! World) and the sink (a Plan's AWS changes → API calls). SDK types appear in the public API
//! only where a caller builds or instruments the clients (`SdkConfig`, config builders,
//! interceptors); everything loaded comes out as World types.

pub mod budget;
pub mod client;
pub mod config;
pub mod details;
pub(crate) mod ec2;
pub(crate) mod elbv2;
pub mod errors;
pub mod inventory;
mod mutate;
pub mod ops;
pub mod paging;
pub mod sink;
pub mod stats;

pub use client::Aws;
pub use config::{AwsOptions, load_sdk_config};
pub use details::{
    AwsSnapshot, Problem, load_details, load_lb_attributes, load_listeners, load_target_health,
    snapshot_aws,
};
pub use errors::{AwsError, ErrorKind};
pub use inventory::{LoadOptions, PageSizes, load_base};
pub use ops::Op;
pub use sink::{SinkError, apply_plan};
pub use stats::Stats;

/// Clients for the default chain plus the command line's `--profile`/`--region`.
pub async fn connect(opts: &AwsOptions) -> Aws {
    Aws::new(&load_sdk_config(opts).await).with_credential_source(config::credential_source(opts))
}
