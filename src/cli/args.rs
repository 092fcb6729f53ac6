//! The command-line contract (`shared/design/cli.md`), as clap definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Who can reach this Service, through which security group, and why is that rule missing?\n\
lbsg mirrors the AWS Load Balancer Controller's security-group decisions, draws the chain\n\
frontend SG → load balancer → backend SG → target ENIs, audits exposure and plans edits.";

const EXAMPLES: &str = "Examples:\n  \
lbsg --demo                         open the TUI on the embedded demo world\n  \
lbsg audit --world world.yaml       audit an offline world file\n  \
lbsg plan svc/default/web --set service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules=true --demo";

#[derive(Debug, Parser)]
#[command(name = "lbsg", version, about = ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Log file (default: $XDG_STATE_HOME/lbsg/lbsg.log). Logs never go to the screen.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the world comes from; shared by every command.
#[derive(Debug, Clone, Args, Default)]
pub struct SourceArgs {
    /// Use the embedded demo world (no cluster, no AWS account).
    #[arg(long, global = true, conflicts_with = "world")]
    pub demo: bool,

    /// Use a world file (kubectl -o yaml and aws … --output json pasted together; see README).
    #[arg(long, global = true, value_name = "FILE")]
    pub world: Option<PathBuf>,

    /// Live: skip the Kubernetes side (it is then unknown, not empty).
    #[arg(long, global = true)]
    pub no_kube: bool,

    /// Live: skip the AWS side (it is then unknown, not empty).
    #[arg(long, global = true)]
    pub no_aws: bool,

    /// Override the cluster name discovered from the controller.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// Override one controller flag, e.g. --controller-arg=--enable-backend-security-group=false (repeatable).
    #[arg(
        long = "controller-arg",
        global = true,
        value_name = "ARG",
        allow_hyphen_values = true
    )]
    pub controller_args: Vec<String>,

    /// Namespace scope (default: all namespaces you can list).
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// All namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,

    /// Make every mutation impossible, in every command and view.
    #[arg(long, global = true)]
    pub readonly: bool,

    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kube context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// AWS profile (default: $AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// AWS region (default: $AWS_REGION, then the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Scope the AWS inventory to this VPC (default: from the controller or the world).
    #[arg(long, global = true, value_name = "VPC_ID")]
    pub vpc_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Exposure and diagnoses of every Service and Ingress the LBC handles.
    #[command(
        after_help = "Examples:\n  lbsg audit --demo\n  lbsg audit --world world.yaml --format json --fail-on medium\n\n\
Exit codes: 0 no finding at or above --fail-on, 1 some, 2 error."
    )]
    Audit(AuditArgs),

    /// The topology: frontend SG → load balancer → backend SG → target ENIs.
    #[command(
        after_help = "Examples:\n  lbsg graph --demo --format dot | dot -Tsvg > chain.svg\n  lbsg graph svc/default/web --demo --format mermaid"
    )]
    Graph(GraphArgs),

    /// What an annotation or rule edit would change, through the reconcile core, with exposure before/after.
    #[command(
        after_help = "Examples:\n  lbsg plan svc/shop/web --set service.beta.kubernetes.io/load-balancer-source-ranges=10.0.0.0/8 --demo\n  \
lbsg plan sg-0abc --add-rule tcp:443:10.0.0.0/8:office --demo\n\n\
RESOURCE is service/NS/NAME or ingress/NS/NAME (svc, ing accepted), or a security group id.\n\
RULE is PROTO:PORTS:SOURCE[:DESCRIPTION], e.g. tcp:443:0.0.0.0/0, tcp:8000-8100:sg-0abc, udp:53:pl-0123, icmp:3,4:10.0.0.0/8, all:all:10.0.0.0/8.\n\n\
Exit codes: 0 plan printed (even if empty), 2 invalid edit."
    )]
    Plan(EditArgs),

    /// Print the plan, ask for confirmation (or --yes), and apply it to the world's source.
    #[command(
        after_help = "Examples:\n  lbsg apply svc/shop/web --set service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules=true --world w.yaml\n\n\
Exit codes: 0 applied, 1 declined or nothing to do, 2 invalid, refused or failed."
    )]
    Apply(ApplyArgs),

    /// Write the current world as a world file.
    #[command(
        after_help = "Examples:\n  lbsg snapshot --out world.yaml --stats\n  lbsg snapshot --out cluster.yaml --no-aws"
    )]
    Snapshot(SnapshotArgs),

    /// Shell completions.
    #[command(after_help = "Example:\n  lbsg completions bash > /etc/bash_completion.d/lbsg")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// The man page (roff) on stdout.
    #[command(after_help = "Example:\n  lbsg man > lbsg.1 && man ./lbsg.1")]
    Man,

    /// Developer tools: generated worlds and load statistics.
    #[command(hide = true, subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Write a generated world file (deterministic for a seed).
    #[command(
        after_help = "Example:\n  lbsg dev gen-world --seed 1 --size large --problems 0.05 --out large.yaml"
    )]
    GenWorld(GenWorldArgs),
    /// Load the world (--world/--demo), print its counts and how long load, desired state and
    /// drift take.
    Stats,
}

#[derive(Debug, Args)]
pub struct GenWorldArgs {
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// tiny, small (300 nodes), large (5,000 nodes, 1,000 LB Services) or stretch (20,000 nodes).
    #[arg(long, default_value = "small", value_parser = ["tiny", "small", "large", "stretch"])]
    pub size: String,
    /// Share of Services and Ingresses given a planted problem (0 = a healthy world).
    #[arg(long, default_value_t = 0.05)]
    pub problems: f64,
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Sarif,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: AuditFormat,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
    /// One resource's chain (service/NS/NAME or ingress/NS/NAME); default: the whole world.
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// service/NS/NAME, ingress/NS/NAME, or a security group id (sg-…).
    pub target: String,
    /// Set an annotation: KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Remove an annotation (repeatable).
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,
    /// Add an inbound rule to the security group: PROTO:PORTS:SOURCE[:DESCRIPTION] (repeatable).
    #[arg(long = "add-rule", value_name = "RULE")]
    pub add_rule: Vec<String>,
    /// Remove an inbound rule from the security group (repeatable).
    #[arg(long = "remove-rule", value_name = "RULE")]
    pub remove_rule: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub edit: EditArgs,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The world file to write (atomically; the previous file is kept as FILE.bak).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print the number of API calls per operation and pages.
    #[arg(long)]
    pub stats: bool,
}
