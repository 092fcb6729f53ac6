//! World files (`apiVersion: lbsg/v1`, `kind: World`): what `kubectl get -o yaml` and the AWS CLI
//! (`--output json`) print, pasted under a small envelope. See `design/world-file.md`.
//!
//! Loading is strict about shape (types, ranges, ids, CIDRs on the AWS side) and names the file,
//! line, column and field path of the first problem. It is lenient about content: unknown fields
//! of Kubernetes objects and AWS responses and unknown Kubernetes kinds are ignored (only lbsg's
//! own envelope keys are checked, to catch typos such as `DescribeSecurityGroup`), and semantic
//! problems (a rule naming an unknown SG) are loaded as they are, for the audit to report.
//!
//! Three optional extensions beyond what the tools print, so that every [`World`] can be saved
//! and read back: `kubernetes.kinds` lists kinds that were listed in full (without it a kind with
//! no object is unknown, not empty), `aws.ec2.GetManagedPrefixListEntries` holds prefix list
//! entries keyed by prefix list id, and `cluster.account` holds the AWS account when known.

mod aws;
mod block;
mod json;
mod kube;
pub(crate) mod located;
mod save;

use std::path::Path;

pub use located::Problem;
use located::{At, Node, Res};
pub use save::{save_path_atomic, save_string, save_string_json};

use super::{ClusterInfo, ControllerConfig, World};

/// The `apiVersion` of a world file.
pub const API_VERSION: &str = "lbsg/v1";
/// The `kind` of a world file.
pub const KIND: &str = "World";

/// Why a world file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WorldFileError {
    #[error("{origin}: {source}")]
    Io {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// Malformed content: `origin:line:column: field.path: what was expected`.
    #[error("{origin}:{}:{}: {}", .problem.line, .problem.column, render(.problem))]
    Invalid { origin: String, problem: Problem },
}

impl WorldFileError {
    /// The located problem, for malformed content.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            WorldFileError::Invalid { problem, .. } => Some(problem),
            WorldFileError::Io { .. } => None,
        }
    }
}

fn render(p: &Problem) -> String {
    if p.path.is_empty() {
        p.message.clone()
    } else {
        format!("{}: {}", p.path, p.message)
    }
}

/// Reads a world file from text. `origin` names it in errors (usually the file name).
pub fn load_str(text: &str, origin: &str) -> Result<World, WorldFileError> {
    // JSON files and block YAML as kubectl and lbsg print it take fast readers. What they do
    // not accept, and every error, goes through the YAML reader, which locates problems; all
    // build the same tree.
    if let Some(root) = json::parse(text).or_else(|| block::parse(text))
        && let Ok(world) = read_world(root)
    {
        return Ok(world);
    }
    load_yaml(text, origin)
}

/// [`load_str`] through the YAML reader only (the reference the fast paths are tested against).
pub(crate) fn load_yaml(text: &str, origin: &str) -> Result<World, WorldFileError> {
    let invalid = |problem| WorldFileError::Invalid {
        origin: origin.to_string(),
        problem,
    };
    let root = located::parse(text).map_err(invalid)?.ok_or_else(|| {
        invalid(Problem::new(
            located::Pos { line: 1, column: 1 },
            "",
            format!("the file is empty; expected a mapping with apiVersion: {API_VERSION} and kind: {KIND}"),
        ))
    })?;
    read_world(root).map_err(invalid)
}

/// Reads a world file from disk; errors name the path.
pub fn load_path(path: &Path) -> Result<World, WorldFileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| WorldFileError::Io {
        origin: origin.clone(),
        source,
    })?;
    load_str(&text, &origin)
}

/// Reads the document, consuming its tree: each side's tree is dropped as soon as that side
/// is read (the AWS side's call by call), so the whole tree and the whole world are never in
/// memory together (on a large world file they are each over 100 MB).
fn read_world(mut root: Node<'_>) -> Res<World> {
    let at = At::root(&root);
    if !at.is_map() {
        return Err(at.err(format!(
            "expected a mapping with apiVersion: {API_VERSION} and kind: {KIND}"
        )));
    }
    let api = at.req("apiVersion")?;
    if api.str()? != API_VERSION {
        return Err(api.err(format!(
            "expected apiVersion {API_VERSION}, found {:?}",
            api.str()?
        )));
    }
    let kind = at.req("kind")?;
    if kind.str()? != KIND {
        return Err(kind.err(format!("expected kind {KIND}, found {:?}", kind.str()?)));
    }
    at.only_keys(&[
        "apiVersion",
        "kind",
        "cluster",
        "controller",
        "kubernetes",
        "aws",
    ])?;
    // Without a controller section, the controller's Deployment in the Kubernetes side gives
    // its flags.
    let lbc_from_kube = at.get("controller")?.is_none();
    let cluster = at.get("cluster")?.map(|c| read_cluster(&c)).transpose()?;

    let (kube_tree, aws_tree) = (root.take("kubernetes"), root.take("aws"));
    // The two sides are independent: read them on two threads. The Kubernetes side's error
    // still wins when both have one, as when they were read in turn. The larger AWS side is
    // read on this thread, the one that built the tree: the allocator then reuses the tree's
    // memory for the world as each call's tree is dropped, where another thread would take
    // fresh memory and peak resident memory would stay that of tree and world together.
    let (kube_side, aws_side) = std::thread::scope(|s| {
        let kube = s.spawn(|| kube_tree.map(|k| kube::read(k, lbc_from_kube)).transpose());
        let aws = aws_tree.map(aws::read).transpose();
        // A panic there is a bug: it goes on as it would have on this thread.
        let kube = kube.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (kube, aws)
    });
    let (kube_side, lbc) = kube_side?.unwrap_or_default();
    let aws_side = aws_side?;

    let at = At::root(&root);
    let mut world = World {
        cluster: cluster.unwrap_or_default(),
        kube: kube_side,
        ..World::default()
    };
    world.controller = match at.get("controller")? {
        Some(c) => Some(read_controller(&c)?),
        None => lbc.transpose()?,
    };
    if world.cluster.name.is_none() {
        world.cluster.name = world
            .controller
            .as_ref()
            .map(|c| c.cluster_name.clone())
            .filter(|n| !n.is_empty());
    }
    if let Some(side) = aws_side {
        world.aws = side;
    }
    Ok(world)
}

fn read_cluster(at: &At<'_>) -> Res<ClusterInfo> {
    at.only_keys(&["name", "region", "vpcId", "account"])?;
    Ok(ClusterInfo {
        name: at.opt_str("name")?,
        region: at.opt_str("region")?,
        vpc_id: at.opt_str("vpcId")?,
        account: at.opt_str("account")?,
    })
}

fn read_controller(at: &At<'_>) -> Res<ControllerConfig> {
    at.only_keys(&["args", "deployment"])?;
    match (at.get("args")?, at.get("deployment")?) {
        (Some(_), Some(d)) => {
            Err(d.err("give either controller.args or controller.deployment, not both"))
        }
        (Some(a), None) => {
            let args = a.seq()?.iter().map(At::str).collect::<Res<Vec<_>>>()?;
            controller_from(&args, &a)
        }
        (None, Some(d)) => {
            let (args, list) = kube::deployment_args(&d, true)?
                .ok_or_else(|| d.err("expected a Deployment with at least one container"))?;
            controller_from(&args, &list)
        }
        (None, None) => Ok(ControllerConfig::default()),
    }
}

/// Parses controller args; a bad flag is reported at the arg that carries it.
pub(super) fn controller_from(args: &[String], list: &At<'_>) -> Res<ControllerConfig> {
    ControllerConfig::from_args(args).map_err(|e| {
        let flag = e.arg.split('=').next().unwrap_or_default().to_string();
        let item = list
            .seq()
            .ok()
            .and_then(|items| {
                items.into_iter().find(|i| {
                    i.str().is_ok_and(|s| {
                        s.trim_start_matches('-')
                            .starts_with(flag.trim_start_matches('-'))
                    })
                })
            })
            .unwrap_or_else(|| list.clone());
        item.err(format!("{}: {}", e.arg, e.problem))
    })
}
