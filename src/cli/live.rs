//! Loading the live world: the cluster side through the kube client, the AWS side through the
//! SDK, merged into one World. A side that is skipped or fails stays *unknown*, with a note.
//!
//! The pieces (connect, merge) are shared with the TUI's live source, which runs them in the
//! background and reports progress on screen instead of stderr: hence the `progress` callback.

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

/// Build a client for `context` (else the one the flags and kubeconfig name) and check that the
/// API server answers, so an unreachable server is one message rather than retrying watchers.
pub async fn connect_kube(args: &SourceArgs, context: Option<&str>) -> Result<KubeClient, String> {
    let mut opts = ContextOptions::from_args(args);
    if let Some(c) = context {
        opts.context = Some(c.to_string());
    }
    let client = KubeClient::connect(&opts)
        .await
        .map_err(|e| format!("Kubernetes: {e}"))?;
    client
        .probe()
        .await
        .map_err(|e| format!("Kubernetes: {e}"))?;
    Ok(client)
}

/// The AWS clients the flags ask for (`endpoint` overrides `AWS_ENDPOINT_URL`, for emulators).
pub async fn connect_aws(args: &SourceArgs, endpoint: Option<String>) -> Aws {
    aws::connect(&AwsOptions {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: endpoint,
    })
    .await
}

/// The VPC the AWS inventory is scoped to: `--vpc-id`, else what the cluster side says.
pub fn vpc_for(args: &SourceArgs, cluster_side: &World) -> Option<String> {
    args.vpc_id
        .clone()
        .or_else(|| cluster_side.vpc_id().map(String::from))
}

/// The note said when no VPC is known.
pub const NO_VPC_NOTE: &str = "no VPC known (give --vpc-id or the controller's --aws-vpc-id): loading every VPC of the Region";

/// Put an AWS load (`aws_world`, from `load_base`/`snapshot_aws`) into the cluster-side world.
pub fn merge_aws(world: &mut World, aws_world: &World, vpc_id: Option<String>) {
    world.aws = aws_world.aws.clone();
    world.cluster.region = aws_world
        .cluster
        .region
        .clone()
        .or(world.cluster.region.take());
    world.cluster.account = aws_world
        .cluster
        .account
        .clone()
        .or(world.cluster.account.take());
    world.cluster.vpc_id = vpc_id.or(world.cluster.vpc_id.take());
}

/// The cluster name from the controller when the world does not name it.
pub fn fill_cluster_name(world: &mut World) {
    if world.cluster.name.is_none() {
        world.cluster.name = world
            .controller
            .as_ref()
            .map(|c| c.cluster_name.clone())
            .filter(|n| !n.is_empty());
    }
}

/// Load both sides as the flags ask. Only a failure to reach a requested side at all is an error.
/// `progress` hears what is being read (the CLI prints it on stderr).
pub async fn load_live(
    args: &SourceArgs,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Live, String> {
    let mut notes = Vec::new();
    let mut world = World::default();
    let mut kube = None;
    if args.no_kube {
        notes.push("--no-kube: the cluster side is unknown".to_string());
    } else {
        let client = connect_kube(args, None).await?;
        progress(&format!("reading the cluster ({})…", client.header()));
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
        let client = connect_aws(args, None).await;
        let vpc_id = vpc_for(args, &world);
        if vpc_id.is_none() {
            notes.push(NO_VPC_NOTE.to_string());
        }
        progress(&format!(
            "reading AWS{}…",
            vpc_id
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default()
        ));
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
        merge_aws(&mut world, &snap.world, vpc_id);
        aws_client = Some(client);
    }
    fill_cluster_name(&mut world);
    Ok(Live {
        world,
        notes,
        kube,
        aws: aws_client,
    })
}
