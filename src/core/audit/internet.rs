//! lbsg's own exposure checks, aligned with Security Hub and the peers (diagnostics-and-limits
//! §2): high-risk ports open to the internet (X01, EC2.19), internet exposure beyond 80/443 that
//! no listener explains (X02, EC2.18), internal LBs whose custom SG admits 0.0.0.0/0 (X03), and
//! wide port ranges reaching targets (X04).

use std::collections::{BTreeMap, BTreeSet};

use super::facts::{covers, is_lb_eni, is_world};
use super::{Ctx, Finding, Remedy, Severity};
use crate::core::lbc::target::is_lbc_managed;
use crate::core::plan::Edit;
use crate::world::{Rule, SecurityGroup, Source};

/// Security Hub EC2.19's high-risk ports (TCP).
pub const EC2_19_PORTS: &[i32] = &[
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
    5601, 8080, 8088, 8888, 9200, 9300,
];
/// EC2.18's default authorized ports.
pub const AUTHORIZED: &[i32] = &[80, 443];
/// From this many ports on, a range "reaches" far more than a load balancer needs.
pub const WIDE: i32 = 1000;

fn is_managed_frontend(sg: &SecurityGroup) -> bool {
    crate::core::lbc::tags::managed_lb_sg_key(sg).is_some()
}

/// Where an SG is attached: internet-facing LBs (with their listener ports), internal LBs, ENIs.
#[derive(Default)]
struct Attachments {
    public_lbs: Vec<String>,
    listener_ports: BTreeSet<(&'static str, i32)>,
    internal_lbs: Vec<String>,
    enis: Vec<String>,
}

fn attachments(ctx: &Ctx<'_>) -> BTreeMap<String, Attachments> {
    let mut out: BTreeMap<String, Attachments> = BTreeMap::new();
    for lb in ctx.facts.lbs.values() {
        for sg in &lb.security_groups {
            let a = out.entry(sg.clone()).or_default();
            if lb.internal() {
                a.internal_lbs.push(lb.name.clone());
            } else {
                a.public_lbs.push(lb.name.clone());
                for l in &lb.listeners {
                    for p in &l.protos {
                        a.listener_ports.insert((p, l.port));
                    }
                }
            }
        }
    }
    // The LBs' own ENIs carry the LBs' SGs: those are judged as LB SGs above.
    for eni in ctx
        .world
        .aws
        .enis
        .iter()
        .flat_map(|m| m.values())
        .filter(|e| !is_lb_eni(e))
    {
        for sg in &eni.groups {
            out.entry(sg.clone()).or_default().enis.push(eni.id.clone());
        }
    }
    out
}

fn attached_text(a: &Attachments) -> String {
    let mut parts = Vec::new();
    if !a.public_lbs.is_empty() {
        parts.push(format!("internet-facing {}", a.public_lbs.join(", ")));
    }
    if !a.internal_lbs.is_empty() {
        parts.push(format!("internal {}", a.internal_lbs.join(", ")));
    }
    if !a.enis.is_empty() {
        parts.push(a.enis.join(", "));
    }
    format!("attached to {}", parts.join("; "))
}

/// The TCP ports of `list` a rule covers.
fn hits(r: &Rule, list: &[i32]) -> Vec<i32> {
    list.iter()
        .copied()
        .filter(|p| covers(r, "tcp", *p))
        .collect()
}

fn join(ports: &[i32]) -> String {
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The remedy for world-open rules on an SG: remove them unless someone else owns them.
fn removal(sg: &SecurityGroup, rules: Vec<Rule>, what: &str) -> Remedy {
    if is_managed_frontend(sg) {
        return Remedy::manual(format!(
            "set source ranges on the Service/Ingress that owns {} (the LBC reverts direct edits of its SG)",
            sg.id
        ));
    }
    if rules.iter().any(is_lbc_managed) {
        return Remedy::manual(
            "these are the LBC's rules: set source ranges on the Service behind them",
        );
    }
    Remedy::edit(
        format!("remove the {what} from {}", sg.id),
        Edit::Rules {
            sg: sg.id.clone(),
            add: Vec::new(),
            remove: rules,
        },
    )
}

/// X01: an SG reachable from the internet (on an internet-facing LB or an ENI) admits
/// 0.0.0.0/0 or ::/0 on a high-risk port.
pub fn x01_high_risk_ports(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, a) in attachments(ctx) {
        if a.public_lbs.is_empty() && a.enis.is_empty() {
            continue; // internal LBs only: D19 / X03
        }
        let Some(sg) = ctx.sg(&id) else { continue };
        let open: Vec<(&Rule, Vec<i32>)> = sg
            .ingress
            .iter()
            .map(|r| &r.rule)
            .filter(|r| is_world(&r.source))
            .map(|r| (r, hits(r, EC2_19_PORTS)))
            .filter(|(_, h)| !h.is_empty())
            .collect();
        if open.is_empty() {
            continue;
        }
        let mut f = Finding::new("X01", Severity::Critical, id.clone())
            .objects([id.clone()])
            .objects(a.enis.iter().cloned());
        for (r, h) in &open {
            f.evidence.push(format!(
                "{} admits {} from {}: high-risk port(s) {}",
                ctx.sg_label(&id),
                r.ports_text(),
                r.source,
                join(h)
            ));
        }
        f.evidence.push(attached_text(&a));
        let rules = open.into_iter().map(|(r, _)| r.clone()).collect();
        out.push(f.remedy(removal(sg, rules, "rules open to the internet")));
    }
    out
}

/// X02: internet exposure beyond 80/443. On an internet-facing LB's SG, ports no listener of
/// those LBs serves; on an ENI's SG, any port. EC2.19 ports are X01's.
pub fn x02_beyond_web_ports(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, a) in attachments(ctx) {
        if a.public_lbs.is_empty() && a.enis.is_empty() {
            continue;
        }
        let Some(sg) = ctx.sg(&id) else { continue };
        let mut extra: Vec<(Rule, String)> = Vec::new();
        // Rules the LBC or the in-tree provider write for a Service are that Service's exposure
        // (D22/D23 judge legacy NLBs); X02 is about rules nobody explains.
        let labelled =
            |r: &Rule| is_lbc_managed(r) || r.description.starts_with("kubernetes.io/rule/nlb/");
        for r in sg
            .ingress
            .iter()
            .map(|r| &r.rule)
            .filter(|r| is_world(&r.source) && !labelled(r))
        {
            if r.is_all_traffic() {
                extra.push((r.clone(), "every port".into()));
                continue;
            }
            let proto = match r.protocol.as_str() {
                "tcp" | "6" => "tcp",
                "udp" | "17" => "udp",
                _ => continue,
            };
            let (Some(from), Some(to)) = (r.from_port, r.to_port) else {
                continue;
            };
            // Ports the range may hold without being "beyond 80/443"; count the rest by
            // arithmetic (a 0-65535 rule is one subtraction, not 65,536 tests).
            let mut explained: BTreeSet<i32> = AUTHORIZED.iter().copied().collect();
            if proto == "tcp" {
                explained.extend(EC2_19_PORTS);
            }
            if a.enis.is_empty() {
                explained.extend(
                    a.listener_ports
                        .iter()
                        .filter(|(p, _)| *p == proto)
                        .map(|(_, n)| *n),
                );
            }
            let width = (to - from + 1).max(0) as usize;
            let unexplained = width - explained.range(from..=to).count();
            if unexplained == 0 {
                continue;
            }
            let why = if a.enis.is_empty() {
                format!("{unexplained} port(s) beyond 80/443 that no listener serves")
            } else {
                format!("{unexplained} port(s) beyond 80/443 on network interfaces")
            };
            extra.push((r.clone(), why));
        }
        if extra.is_empty() {
            continue;
        }
        let mut f = Finding::new("X02", Severity::High, id.clone())
            .objects([id.clone()])
            .objects(a.enis.iter().cloned());
        for (r, why) in &extra {
            f.evidence.push(format!(
                "{} admits {} from {}: {why}",
                ctx.sg_label(&id),
                r.ports_text(),
                r.source
            ));
        }
        f.evidence.push(attached_text(&a));
        let rules = extra.into_iter().map(|(r, _)| r).collect();
        out.push(f.remedy(removal(sg, rules, "rules open to the internet")));
    }
    out
}

/// X03: an internal LB's user-managed frontend SG admits 0.0.0.0/0 or ::/0 on a listener port.
pub fn x03_internal_custom_open(ctx: &Ctx<'_>) -> Vec<Finding> {
    let backend = ctx.backend_sg();
    let (v4, v6) = ctx.vpc_cidrs();
    let mut out = Vec::new();
    for lb in ctx.facts.lbs.values().filter(|l| l.internal()) {
        for id in lb
            .security_groups
            .iter()
            .filter(|s| Some(s.as_str()) != backend)
        {
            let Some(sg) = ctx.sg(id).filter(|s| !is_managed_frontend(s)) else {
                continue;
            };
            let open: Vec<&Rule> = sg
                .ingress
                .iter()
                .map(|r| &r.rule)
                .filter(|r| {
                    is_world(&r.source)
                        && lb
                            .listeners
                            .iter()
                            .any(|l| l.protos.iter().any(|p| covers(r, p, l.port)))
                })
                .collect();
            if open.is_empty() {
                continue;
            }
            let resource = lb
                .owner
                .clone()
                .unwrap_or_else(|| format!("loadbalancer/{}", lb.name));
            let mut f = Finding::new("X03", Severity::Medium, resource)
                .objects([id.clone(), lb.arn.clone()])
                .evidence(format!(
                    "{} is internal; its SG {} admits {}",
                    lb.name,
                    ctx.sg_label(id),
                    open.iter()
                        .map(|r| format!("{} from {}", r.ports_text(), r.source))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .evidence("anything routed into the VPC (peering, Transit Gateway, VPN, Direct Connect) can connect");
            let add: Vec<Rule> = open
                .iter()
                .flat_map(|r| {
                    let cidrs = match r.source {
                        Source::CidrV6(_) => v6.clone(),
                        _ => v4.clone(),
                    };
                    cidrs.into_iter().map(|c| Rule {
                        source: Source::from_cidr(&c),
                        description: "lbsg: the VPC only".into(),
                        ..(*r).clone()
                    })
                })
                .collect();
            f = if add.is_empty() {
                f.remedy(Remedy::manual(
                    "narrow the rules to the networks that should connect",
                ))
            } else {
                f.remedy(Remedy::edit(
                    format!("replace the 0.0.0.0/0 rules on {id} with the VPC's CIDRs"),
                    Edit::Rules {
                        sg: id.clone(),
                        add,
                        remove: open.into_iter().cloned().collect(),
                    },
                ))
            };
            out.push(f);
        }
    }
    out
}

/// X04: a rule the LBC does not own admits an address range or a load balancer's SG on a wide
/// range of ports of a target ENI's SG.
pub fn x04_wide_ranges_to_targets(ctx: &Ctx<'_>) -> Vec<Finding> {
    let target_sgs: BTreeSet<&str> = ctx
        .facts
        .lbs
        .values()
        .flat_map(|l| l.target_groups.values())
        .flat_map(|tg| tg.targets.iter().flatten())
        .flat_map(|t| t.sgs.iter().map(String::as_str))
        .collect();
    let lb_sgs: BTreeSet<&str> = ctx
        .facts
        .lbs
        .values()
        .flat_map(|l| l.security_groups.iter().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for id in target_sgs {
        let Some(sg) = ctx.sg(id) else { continue };
        let wide: Vec<&Rule> = sg
            .ingress
            .iter()
            .map(|r| &r.rule)
            .filter(|r| !is_lbc_managed(r))
            .filter(|r| {
                r.is_all_traffic()
                    || matches!((r.from_port, r.to_port), (Some(f), Some(t)) if t - f + 1 >= WIDE)
            })
            .filter(|r| match &r.source {
                Source::Cidr(_) | Source::CidrV6(_) | Source::PrefixList(_) => true,
                Source::Group(g) => g != id && lb_sgs.contains(g.as_str()),
                Source::None => false,
            })
            .collect();
        if wide.is_empty() {
            continue;
        }
        let severity = if wide.iter().any(|r| is_world(&r.source)) {
            Severity::Medium
        } else {
            Severity::Low
        };
        let mut f = Finding::new("X04", severity, id.to_string()).objects([id.to_string()]);
        for r in &wide {
            let who = match &r.source {
                Source::Group(_) => {
                    " (an SG on load balancers: every one of them reaches these ports)"
                }
                _ => "",
            };
            f.evidence.push(format!(
                "{} (on target ENIs) admits {} from {}{who}",
                ctx.sg_label(id),
                r.ports_text(),
                r.source
            ));
        }
        out.push(f.remedy(Remedy::manual(
            "narrow the rule to the target and health-check ports the load balancers use",
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;
    use crate::world::SgRule;

    fn rule(r: Rule) -> SgRule {
        SgRule {
            rule: r,
            id: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn x01_ssh_from_anywhere_on_a_node_sg() {
        assert!(findings(&world(), "X01").is_empty());
        let mut w = world();
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(rule(tcp(22, "0.0.0.0/0")));
        let f = findings(&w, "X01");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
        // from the office only: fine
        let mut w = world();
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(rule(tcp(22, "198.51.100.0/24")));
        assert!(findings(&w, "X01").is_empty());
    }

    #[test]
    fn x02_non_listener_port_on_an_internet_facing_lb_sg() {
        let mut w = world();
        add_sg(
            &mut w,
            sg(
                "sg-custom",
                &[],
                vec![tcp(443, "0.0.0.0/0"), tcp(8443, "0.0.0.0/0")],
            ),
        );
        lb_mut(&mut w).security_groups.push("sg-custom".into());
        let f = findings(&w, "X02");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].evidence[0].contains("8443"));
        // once a listener serves 8443 the exposure is the LB's purpose
        w.aws.listeners.as_mut().unwrap().insert(
            "l-2".into(),
            crate::world::Listener {
                arn: "l-2".into(),
                load_balancer_arn: LB.into(),
                port: 8443,
                protocol: "TLS".into(),
                target_group_arns: vec![TG.into()],
            },
        );
        assert!(findings(&w, "X02").is_empty());
    }

    #[test]
    fn x03_internal_lb_custom_sg_open() {
        let mut w = world();
        add_sg(&mut w, sg("sg-custom", &[], vec![tcp(443, "0.0.0.0/0")]));
        let lb = lb_mut(&mut w);
        lb.scheme = "internal".into();
        lb.security_groups.push("sg-custom".into());
        let f = findings(&w, "X03");
        assert_eq!(f.len(), 1, "{f:?}");
        let edit = f[0].remedy.as_ref().unwrap().edit.clone().unwrap();
        assert!(crate::core::plan::plan(&w, &edit).is_ok());
        sg_mut(&mut w, "sg-custom").ingress[0].rule = tcp(443, "10.0.0.0/16");
        assert!(findings(&w, "X03").is_empty());
    }

    #[test]
    fn an_lb_eni_carries_the_lb_sgs_not_a_workloads() {
        let mut w = world();
        add_sg(
            &mut w,
            sg(
                "sg-custom",
                &[],
                vec![tcp(443, "0.0.0.0/0"), tcp(8443, "0.0.0.0/0")],
            ),
        );
        lb_mut(&mut w).security_groups.push("sg-custom".into());
        w.aws.listeners.as_mut().unwrap().insert(
            "l-2".into(),
            crate::world::Listener {
                arn: "l-2".into(),
                load_balancer_arn: LB.into(),
                port: 8443,
                protocol: "TLS".into(),
                target_group_arns: vec![TG.into()],
            },
        );
        let lb_eni = crate::world::NetworkInterface {
            id: "eni-lb".into(),
            description: "ELB net/k8s-default-web/1".into(),
            interface_type: Some("network_load_balancer".into()),
            groups: vec!["sg-web".into(), "sg-backend".into(), "sg-custom".into()],
            ..Default::default()
        };
        w.aws.enis.as_mut().unwrap().insert("eni-lb".into(), lb_eni);
        assert!(findings(&w, "X02").is_empty(), "{:#?}", findings(&w, "X02"));
        // the same SGs on a workload's ENI are direct exposure
        let eni = w.aws.enis.as_mut().unwrap().get_mut("eni-lb").unwrap();
        eni.interface_type = Some("interface".into());
        eni.description = "app server".into();
        assert_eq!(findings(&w, "X02").len(), 1);
    }

    #[test]
    fn x04_wide_hand_made_range_to_targets() {
        let mut w = world();
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(rule(tcp_range(30000, 32767, "10.0.0.0/8", "")));
        let f = findings(&w, "X04");
        assert_eq!((f.len(), f[0].severity), (1, Severity::Low));
        // a self reference is the nodes talking to each other
        let mut w = world();
        sg_mut(&mut w, "sg-node")
            .ingress
            .push(rule(tcp_range(0, 65535, "sg-node", "")));
        assert!(findings(&w, "X04").is_empty());
    }
}
