//! `lbsg snapshot --no-aws`: the same watchers as the live view, run until every kind is
//! listed (or known unlistable), plus controller discovery and the CLI overrides, as a World.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Note;
use super::client::KubeClient;
use super::controller::{ControllerDiscovery, Overrides, discover_controller};
use super::kinds::{KindId, KindStatus};
use super::watch::{KubeWatch, WatchOptions};
use crate::world::controller::ArgError;
use crate::world::{ClusterInfo, World};

/// What `lbsg snapshot --no-aws` captures of a cluster.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub watch: WatchOptions,
    /// How long to wait for every kind to be listed (or known unlistable).
    pub timeout: Duration,
    /// Look for the LBC Deployment.
    pub discover_controller: bool,
    pub overrides: Overrides,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            watch: WatchOptions::default(),
            timeout: Duration::from_secs(60),
            discover_controller: true,
            overrides: Overrides::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KubeSnapshot {
    /// The cluster side and controller configuration; the AWS side is unknown.
    pub world: World,
    pub kinds: BTreeMap<KindId, KindStatus>,
    pub controller: Option<ControllerDiscovery>,
    /// Every kind or controller question that could not be answered, for the user.
    pub notes: Vec<Note>,
    pub context: String,
}

/// List every kind once (through the same watchers the live view uses), discover the controller
/// and apply the CLI overrides. Unlistable kinds stay unknown, with notes; only a bad override
/// is an error.
pub async fn snapshot_kube(
    client: &KubeClient,
    options: &SnapshotOptions,
) -> Result<KubeSnapshot, ArgError> {
    let watch = KubeWatch::start(client, &options.watch);
    let discovery = async {
        if options.discover_controller {
            Some(discover_controller(client, &options.overrides).await)
        } else {
            None
        }
    };
    let (settled, discovery) = tokio::join!(watch.wait_settled(options.timeout), discovery);
    let view = watch.view();
    drop(watch);
    let discovery = discovery.transpose()?;
    let mut notes = view.notes;
    if !settled {
        notes.push(Note::new(
            "snapshot",
            format!(
                "gave up waiting after {}s; unlisted kinds are unknown",
                options.timeout.as_secs()
            ),
        ));
    }
    let controller = match &discovery {
        Some(d) => {
            notes.extend(d.notes.iter().cloned());
            d.config.clone()
        }
        None => options.overrides.apply_to_default()?,
    };
    let world = World {
        cluster: ClusterInfo {
            region: controller.as_ref().and_then(|c| c.region.clone()),
            ..ClusterInfo::default()
        },
        controller,
        kube: view.side,
        aws: Default::default(),
    };
    Ok(KubeSnapshot {
        world,
        kinds: view.kinds,
        controller: discovery,
        notes,
        context: view.context,
    })
}
