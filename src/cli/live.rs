//! Loading the live world: the cluster side through the kube client, the AWS side through the
//! SDK, merged into one World. A side that is skipped or fails stays *unknown*, with a note.

use super::args::SourceArgs;
use crate::infra::aws::{self, Aws, AwsOptions, LoadOptions};
use crate::infra::kube::controller::Overrides;
use crate::infra::kube::{ContextOptions, KubeClient, SnapshotOptions, snapshot_kube};
use crate::world::World;

/// A live world and how it was obtained.
pub struct Live {
    pub world: World,
    /// What could not be loaded or decided, for the user (stderr / the TUI banner).
    pub notes: Vec<String>,
    pub kube: Option<KubeClient>,
    pub aws: Option<Aws>,
}

/// Load both sides as the flags ask. Only a failure to reach a requested side at all is an error.
pub async fn load_live(args: &SourceArgs) -> Result<Live, String> {
    let mut notes = Vec::new();
    let mut world = World::default();
    let mut kube = None;
    if args.no_kube {
        notes.push("--no-kube: the cluster side is unknown".to_string());
    } else {
        let client = KubeClient::connect(&ContextOptions::from_args(args))
            .await
            .map_err(|e| format!("Kubernetes: {e}"))?;
        // Fail fast with one message rather than a snapshot of nothing after the watchers give up.
        client
            .probe()
            .await
            .map_err(|e| format!("Kubernetes: {e}"))?;
        eprintln!("lbsg: reading the cluster ({})…", client.header());
        let opts = SnapshotOptions {
            overrides: Overrides::from_args(args),
            ..SnapshotOptions::default()
        };
        let snap = snapshot_kube(&client, &opts)
            .await
            .map_err(|e| format!("Kubernetes: {e}"))?;
        notes.extend(
            snap.notes
                .iter()
                .map(|n| format!("{}: {}", n.subject, n.message)),
        );
        world = snap.world;
        kube = Some(client);
    }
    let mut aws_client = None;
    if args.no_aws {
        notes.push("--no-aws: the AWS side is unknown".to_string());
    } else {
        let client = aws::connect(&AwsOptions {
            profile: args.profile.clone(),
            region: args.region.clone(),
            endpoint_url: None,
        })
        .await;
        let vpc_id = args
            .vpc_id
            .clone()
            .or_else(|| world.vpc_id().map(String::from));
        if vpc_id.is_none() {
            notes.push("no VPC known (give --vpc-id or the controller's --aws-vpc-id): loading every VPC of the Region".to_string());
        }
        eprintln!(
            "lbsg: reading AWS{}…",
            vpc_id
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default()
        );
        let opts = LoadOptions {
            vpc_id: vpc_id.clone(),
            ..LoadOptions::default()
        };
        let snap = aws::snapshot_aws(&client, &opts)
            .await
            .map_err(|e| format!("AWS: {e}"))?;
        notes.extend(
            snap.problems
                .iter()
                .map(|p| format!("{}: {}", p.resource, p.error)),
        );
        world.aws = snap.world.aws;
        world.cluster.region = snap.world.cluster.region.or(world.cluster.region);
        world.cluster.account = snap.world.cluster.account.or(world.cluster.account);
        world.cluster.vpc_id = vpc_id.or(world.cluster.vpc_id);
        aws_client = Some(client);
    }
    if world.cluster.name.is_none() {
        world.cluster.name = world
            .controller
            .as_ref()
            .map(|c| c.cluster_name.clone())
            .filter(|n| !n.is_empty());
    }
    Ok(Live {
        world,
        notes,
        kube,
        aws: aws_client,
    })
}
