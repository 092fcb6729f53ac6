//! The World: one snapshot of everything lbsg reasons about, as plain data.
//!
//! No SDK or client types live here. Every collection is a [`Section`]: `None` means the
//! source did not provide it (*unknown*), which is different from an empty collection.

pub mod aws;
pub mod controller;
pub mod file;
pub mod kube;
pub mod overlay;

use serde::{Deserialize, Serialize};

pub use aws::*;
pub use controller::{ControllerConfig, FeatureGates, Origin};
pub use kube::*;
pub use overlay::WorldOverlay;

/// A collection the source may not have provided. `None` = unknown, `Some(empty)` = known empty.
pub type Section<T> = Option<T>;

/// Identity of the cluster and account the world describes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The LBC `--cluster-name`; falls back to the controller args.
    pub name: Option<String>,
    pub region: Option<String>,
    pub vpc_id: Option<String>,
    /// The AWS account, when known (from ARNs or the caller identity).
    pub account: Option<String>,
}

/// Where a world came from; decides which sink applies edits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorldSource {
    #[default]
    Demo,
    File(String),
    Live,
}

/// One snapshot of the cluster side and the AWS side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World {
    pub cluster: ClusterInfo,
    /// The controller's configuration; `None` when neither args nor a Deployment were given.
    pub controller: Option<ControllerConfig>,
    pub kube: KubeSide,
    pub aws: AwsSide,
}

impl World {
    /// The cluster name the LBC uses: explicit world value, else the controller's `--cluster-name`.
    pub fn cluster_name(&self) -> Option<&str> {
        self.cluster
            .name
            .as_deref()
            .or_else(|| self.controller.as_ref().map(|c| c.cluster_name.as_str()))
            .filter(|n| !n.is_empty())
    }

    /// The controller configuration, or the LBC defaults when none was loaded.
    pub fn controller_or_default(&self) -> ControllerConfig {
        match &self.controller {
            Some(c) => c.clone(),
            None => {
                let mut c = ControllerConfig::default();
                if let Some(n) = &self.cluster.name {
                    c.cluster_name = n.clone();
                }
                c
            }
        }
    }

    /// The VPC the cluster lives in: world value, controller flag, or the only VPC loaded.
    pub fn vpc_id(&self) -> Option<&str> {
        if let Some(v) = self.cluster.vpc_id.as_deref() {
            return Some(v);
        }
        if let Some(v) = self.controller.as_ref().and_then(|c| c.vpc_id.as_deref()) {
            return Some(v);
        }
        match self.aws.vpcs.as_deref() {
            Some([only]) => Some(only.id.as_str()),
            _ => None,
        }
    }
}
