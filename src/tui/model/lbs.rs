//! Load balancers as the LB view shows them: listeners, target groups, target health.

use crate::world::World;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub id: String,
    pub port: Option<i32>,
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgRow {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub port: Option<i32>,
    pub target_type: String,
    pub health_check_port: Option<String>,
    /// `None` = health not loaded.
    pub targets: Option<Vec<TargetRow>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbRow {
    pub arn: String,
    pub name: String,
    pub kind: &'static str,
    pub scheme: String,
    pub security_groups: Vec<String>,
    /// `service/ns/name`, `ingress group public-alb`, or empty.
    pub owner: String,
    pub listeners: Vec<String>,
    pub target_groups: Vec<TgRow>,
    pub healthy: usize,
    pub total: usize,
}

/// Every LB of the world, sorted by name.
pub fn build(world: &World) -> Vec<LbRow> {
    let health = world.aws.target_health.as_ref();
    let mut rows: Vec<LbRow> = world
        .aws
        .load_balancers
        .iter()
        .flat_map(|m| m.values())
        .map(|lb| {
            let listeners = world
                .aws
                .listeners
                .iter()
                .flat_map(|m| m.values())
                .filter(|l| l.load_balancer_arn == lb.arn)
                .map(|l| format!("{} {}", l.protocol, l.port))
                .collect();
            let target_groups: Vec<TgRow> = world
                .aws
                .target_groups
                .iter()
                .flat_map(|m| m.values())
                .filter(|tg| tg.load_balancer_arns.contains(&lb.arn))
                .map(|tg| TgRow {
                    arn: tg.arn.clone(),
                    name: tg.name.clone(),
                    protocol: tg.protocol.clone().unwrap_or_default(),
                    port: tg.port,
                    target_type: tg.target_type.clone(),
                    health_check_port: tg.health_check_port.clone(),
                    targets: health.and_then(|h| h.get(&tg.arn)).map(|ts| {
                        ts.iter()
                            .map(|t| TargetRow {
                                id: t.id.clone(),
                                port: t.port,
                                state: t.state.clone(),
                                reason: t.reason.clone(),
                            })
                            .collect()
                    }),
                })
                .collect();
            let all: Vec<&TargetRow> = target_groups
                .iter()
                .flat_map(|t| t.targets.iter().flatten())
                .collect();
            let owner = if let Some(s) = lb.tags.get("service.k8s.aws/stack") {
                format!("service/{s}")
            } else if let Some(s) = lb.tags.get("ingress.k8s.aws/stack") {
                if s.contains('/') {
                    format!("ingress/{s}")
                } else {
                    format!("ingress group {s}")
                }
            } else if let Some(s) = lb.tags.get("kubernetes.io/service-name") {
                format!("service/{s} (in-tree)")
            } else {
                String::new()
            };
            LbRow {
                arn: lb.arn.clone(),
                name: lb.name.clone(),
                kind: match lb.type_.as_str() {
                    "network" => "NLB",
                    "application" => "ALB",
                    "gateway" => "GWLB",
                    _ => "LB",
                },
                scheme: lb.scheme.clone(),
                security_groups: lb.security_groups.clone(),
                owner,
                listeners,
                healthy: all.iter().filter(|t| t.state == "healthy").count(),
                total: all.len(),
                target_groups,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.arn.cmp(&b.arn)));
    rows
}
