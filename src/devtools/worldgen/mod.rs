//! A deterministic world generator: from a seed and a size, a whole cluster and AWS account as
//! the LBC would have left them (names, tags, managed SG rules and target rules computed by the
//! core itself), plus a chosen share of planted problems. Used by `lbsg dev gen-world`, the
//! benchmarks and the property tests.
//!
//! The healthy part is *settled*: the generator builds the Kubernetes objects and the AWS
//! infrastructure, asks [`crate::core::desired::desired`] what the LBC would build, creates
//! exactly that (managed SGs, LBs, target groups, listeners, TargetGroupBindings), then asks again
//! for the target rules. With no planted problems the drift of the result is empty.

mod infra;
mod ingresses;
mod pad;
mod pools;
mod problems;
pub mod quota;
pub mod rng;
mod settle;
mod workloads;

use std::collections::BTreeMap;

use crate::world::{SgRule, World};

pub use problems::ProblemKind;
use rng::{Ids, Rng};

/// The preset sizes (`--size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few of everything: property tests and fuzz seeds.
    Tiny,
    Small,
    Large,
    Stretch,
}

impl Size {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "tiny" => Ok(Size::Tiny),
            "small" => Ok(Size::Small),
            "large" => Ok(Size::Large),
            "stretch" => Ok(Size::Stretch),
            other => Err(format!(
                "unknown size {other:?}; use tiny, small, large or stretch"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Size::Tiny => "tiny",
            Size::Small => "small",
            Size::Large => "large",
            Size::Stretch => "stretch",
        }
    }

    /// Targets of each preset. Large is the design point of `diagnostics-and-limits.md` §5;
    /// small is a typical cluster; stretch has 4× the nodes and 5× the ENIs of large and twice
    /// its load balancers and SGs (the issue fixes only its nodes and ENIs).
    pub fn counts(self) -> Counts {
        match self {
            Size::Tiny => Counts {
                nodes: 12,
                lb_services: 10,
                ingresses: 5,
                enis: 60,
                security_groups: 45,
                inbound_rules: 250,
            },
            Size::Small => Counts {
                nodes: 300,
                lb_services: 60,
                ingresses: 12,
                enis: 1_200,
                security_groups: 150,
                inbound_rules: 2_400,
            },
            Size::Large => Counts {
                nodes: 5_000,
                lb_services: 1_000,
                ingresses: 200,
                enis: 20_000,
                security_groups: 2_500,
                inbound_rules: 40_000,
            },
            Size::Stretch => Counts {
                nodes: 20_000,
                lb_services: 2_000,
                ingresses: 400,
                enis: 100_000,
                security_groups: 5_000,
                inbound_rules: 80_000,
            },
        }
    }
}

/// How much of everything to generate. `enis`, `security_groups` and `inbound_rules` are
/// reached by padding with objects the LBC does not own (VPC endpoint and database ENIs,
/// application SGs); when the LBC's own objects already exceed them, there is no padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub nodes: usize,
    /// `type: LoadBalancer` Services the LBC reconciles (one NLB each).
    pub lb_services: usize,
    pub ingresses: usize,
    pub enis: usize,
    pub security_groups: usize,
    /// Inbound rules over all SGs (one rule per source, as EC2 counts them).
    pub inbound_rules: usize,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenSpec {
    pub seed: u64,
    pub counts: Counts,
    /// Share of Services and Ingresses that get a planted problem, `0.0..=1.0`.
    pub problems: f64,
}

impl GenSpec {
    pub fn new(seed: u64, size: Size, problems: f64) -> Self {
        Self {
            seed,
            counts: size.counts(),
            problems,
        }
    }
}

/// A problem the generator planted on purpose, for tests and the audit to find.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planted {
    pub kind: ProblemKind,
    /// `service/NS/NAME`, `ingress/NS/NAME`, an ENI id or an SG id.
    pub subject: String,
}

/// A generated world and what was planted in it.
#[derive(Debug, Clone)]
pub struct Generated {
    pub world: World,
    pub planted: Vec<Planted>,
}

/// Object counts of a world (what the presets aim at).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorldStats {
    pub nodes: usize,
    pub lb_services: usize,
    pub services: usize,
    pub ingresses: usize,
    pub enis: usize,
    pub security_groups: usize,
    pub inbound_rules: usize,
    pub load_balancers: usize,
    pub target_groups: usize,
    pub pods: usize,
}

impl std::fmt::Display for WorldStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} nodes, {} LB Services ({} Services), {} Ingresses, {} ENIs, {} SGs / {} inbound rules, {} LBs, {} target groups, {} pods",
            self.nodes,
            self.lb_services,
            self.services,
            self.ingresses,
            self.enis,
            self.security_groups,
            self.inbound_rules,
            self.load_balancers,
            self.target_groups,
            self.pods
        )
    }
}

/// Count the objects of `world`; LB Services are those the world's LBC reconciles.
pub fn stats(world: &World) -> WorldStats {
    let cfg = world.controller_or_default();
    let len = |n: Option<usize>| n.unwrap_or(0);
    let services = world.kube.services.as_ref();
    WorldStats {
        nodes: len(world.kube.nodes.as_ref().map(BTreeMap::len)),
        lb_services: services.map_or(0, |m| {
            m.values()
                .filter(|s| crate::core::lbc::service::is_lbc_service(&cfg, s))
                .count()
        }),
        services: len(services.map(BTreeMap::len)),
        ingresses: len(world.kube.ingresses.as_ref().map(BTreeMap::len)),
        enis: len(world.aws.enis.as_ref().map(BTreeMap::len)),
        security_groups: len(world.aws.security_groups.as_ref().map(BTreeMap::len)),
        inbound_rules: world
            .aws
            .security_groups
            .iter()
            .flat_map(|m| m.values())
            .map(|sg| sg.ingress.len())
            .sum(),
        load_balancers: len(world.aws.load_balancers.as_ref().map(BTreeMap::len)),
        target_groups: len(world.aws.target_groups.as_ref().map(BTreeMap::len)),
        pods: len(world.kube.pods.as_ref().map(BTreeMap::len)),
    }
}

/// Generate the world `spec` describes. Fails only if the core rejects what the generator meant
/// to be healthy (a generator bug, reported with the stack and the LBC's error).
pub fn generate(spec: &GenSpec) -> Result<Generated, String> {
    if !(0.0..=1.0).contains(&spec.problems) {
        return Err(format!("problem share {} is outside 0..=1", spec.problems));
    }
    let mut g = Gen::new(*spec);
    g.infra();
    g.workloads();
    g.settle()?;
    g.plant_after_settle();
    g.pad();
    Ok(Generated {
        world: g.w,
        planted: g.planted,
    })
}

/// Everything the generator keeps while it builds one world.
pub(super) struct Gen {
    spec: GenSpec,
    cluster: String,
    account: String,
    region: String,
    w: World,
    rng: Rng,
    sg_ids: Ids,
    eni_ids: Ids,
    instance_ids: Ids,
    rule_ids: Ids,
    arn_ids: Ids,
    net: infra::Net,
    /// Problems decided before the healthy part is built, by LB Service index.
    pre: problems::PrePlan,
    planted: Vec<Planted>,
    next_node_port: i32,
}

impl Gen {
    fn new(spec: GenSpec) -> Self {
        let seed = spec.seed;
        Gen {
            spec,
            cluster: "lbsg-gen".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            w: World::default(),
            rng: Rng::new(seed, "main"),
            sg_ids: Ids::new(seed, "sg"),
            eni_ids: Ids::new(seed, "eni"),
            instance_ids: Ids::new(seed, "instance"),
            rule_ids: Ids::new(seed, "sgr"),
            arn_ids: Ids::new(seed, "arn"),
            net: infra::Net::default(),
            pre: problems::PrePlan::default(),
            planted: Vec::new(),
            next_node_port: 30_000,
        }
    }

    /// A rule as AWS lists it, with a fresh `sgr-` id.
    fn sg_rule(&mut self, rule: crate::world::Rule) -> SgRule {
        SgRule {
            rule,
            id: Some(self.rule_ids.next("sgr-")),
            tags: BTreeMap::new(),
        }
    }

    /// The next free NodePort (the range grows past 32767 on the stretch size, as clusters with
    /// that many Services configure `--service-node-port-range`).
    fn node_port(&mut self) -> i32 {
        let p = self.next_node_port;
        self.next_node_port += 1;
        p
    }

    /// 16 hex digits for ARNs and DNS names.
    fn arn_suffix(&mut self) -> String {
        let id = self.arn_ids.next("");
        id.get(1..).unwrap_or_default().to_string()
    }
}

#[cfg(test)]
mod tests;
