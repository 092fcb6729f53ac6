//! How many targets a world registers, measured against AWS's target quotas
//! (diagnostics-and-limits §4): a generated world must be one AWS would accept.

use std::collections::BTreeMap;

use crate::core::reach::WorldIndex;
use crate::core::reach::targets::resolve;
use crate::world::World;

pub const TARGETS_PER_TG: usize = 1_000;
pub const TARGETS_PER_ALB: usize = 1_000;
pub const NLB_TARGETS_PER_AZ: usize = 500;

/// Target registrations of a world, and the largest per quota scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetCounts {
    pub total: usize,
    /// (target group ARN, targets)
    pub max_per_tg: (String, usize),
    /// (ALB ARN, targets over all its target groups)
    pub max_per_alb: (String, usize),
    /// (NLB ARN and AZ, targets over all its target groups in that AZ)
    pub max_per_nlb_az: (String, usize),
}

impl TargetCounts {
    /// The quotas this world passes, one line each.
    pub fn excess(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |what: &str, (id, n): &(String, usize), quota: usize| {
            if *n > quota {
                out.push(format!("{what} {id}: {n} targets, quota {quota}"));
            }
        };
        check("target group", &self.max_per_tg, TARGETS_PER_TG);
        check("ALB", &self.max_per_alb, TARGETS_PER_ALB);
        check("NLB in AZ", &self.max_per_nlb_az, NLB_TARGETS_PER_AZ);
        out
    }
}

/// Count the targets every load balancer's target groups register (target health when loaded,
/// else what the TargetGroupBinding selects).
pub fn target_counts(world: &World) -> TargetCounts {
    let idx = WorldIndex::new(world);
    let az_of_subnet: BTreeMap<&str, &str> = world
        .aws
        .subnets
        .iter()
        .flat_map(|m| m.values())
        .filter_map(|s| Some((s.id.as_str(), s.availability_zone.as_deref()?)))
        .collect();
    let mut out = TargetCounts::default();
    let raise = |slot: &mut (String, usize), id: String, n: usize| {
        if n > slot.1 {
            *slot = (id, n);
        }
    };
    for lb in world.aws.load_balancers.iter().flat_map(|m| m.values()) {
        let mut lb_total = 0;
        let mut per_az: BTreeMap<&str, usize> = BTreeMap::new();
        for tg in idx.target_groups_of_lb(&lb.arn) {
            let (_, targets) = resolve(&idx, tg);
            out.total += targets.len();
            lb_total += targets.len();
            raise(&mut out.max_per_tg, tg.arn.clone(), targets.len());
            for t in &targets {
                let az = t
                    .eni
                    .and_then(|e| e.subnet_id.as_deref())
                    .and_then(|s| az_of_subnet.get(s).copied())
                    .unwrap_or("?");
                *per_az.entry(az).or_default() += 1;
            }
        }
        match lb.type_.as_str() {
            "application" => raise(&mut out.max_per_alb, lb.arn.clone(), lb_total),
            "network" => {
                for (az, n) in per_az {
                    raise(&mut out.max_per_nlb_az, format!("{} {az}", lb.arn), n);
                }
            }
            _ => {}
        }
    }
    out
}
