//! Exposure on small hand-built worlds: one situation per test, each with a near-identical
//! world that flips the answer.

use super::admit::Verdict;
use super::explain::Code;
use super::exposure::{Via, exposure};
use super::fixtures::*;
use super::targets::TargetsFrom;
use crate::world::*;

fn only_listener(e: &super::Exposure, lb: &str) -> super::ListenerReach {
    let l = &e.load_balancers[lb].listeners;
    assert_eq!(l.len(), 1, "{l:#?}");
    l[0].clone()
}

#[test]
fn healthy_nlb_reads_internet_to_port_to_targets() {
    let mut w = base();
    let (lb, tg) = web(&mut w);
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    assert!(l.internet_v4);
    assert!(!l.internet_v6, "an ipv4 LB has no IPv6 address");
    assert_eq!(l.reachable_targets, 2);
    assert_eq!(
        l.summary,
        "internet (0.0.0.0/0) → tcp/443 → 2 of 2 targets on tcp/31443"
    );
    let set = &e.load_balancers[&lb].target_groups[&tg].sets[0];
    assert_eq!(set.verdict, Verdict::Admitted);
    assert_eq!(
        set.traffic_check.rules[0].to_string(),
        "sg-0node: tcp 31443 from sg-0backend"
    );
    assert_eq!(
        set.targets.len(),
        2,
        "both nodes share one SG set: one evaluation"
    );
    assert_eq!(
        e.resources["service/default/web"].lines,
        vec!["web: internet (0.0.0.0/0) → tcp/443 → 2 of 2 targets on tcp/31443"]
    );
}

#[test]
fn missing_node_rule_is_blocked_with_the_sgs_named() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    // The custom-SG case: the LB carries sg-0custom and the backend SG; the node SG admits
    // the backend SG on other ports only.
    if let Some(l) = w.aws.load_balancers.as_mut().and_then(|m| m.get_mut(&lb)) {
        l.security_groups = vec!["sg-0custom".into(), BACKEND_SG.into()];
    }
    add_sg(&mut w, "sg-0custom", &[rule("tcp", 443, 443, "0.0.0.0/0")]);
    if let Some(sg) = sgs(&mut w).get_mut(NODE_SG) {
        sg.ingress.retain(|r| r.rule.from_port != Some(31443));
        sg.ingress.push(rule("tcp", 5514, 30000, BACKEND_SG));
    }
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    assert_eq!(l.reachable_targets, 0);
    assert!(l.codes.contains(&Code::EniSgRulesMismatch));
    assert_eq!(
        l.summary,
        "internet (0.0.0.0/0) → tcp/443 → 0 of 2 targets on tcp/31443; blocked: sg-0node has no \
         rule for tcp/31443 from sg-0custom or sg-0backend (the backend SG) (sg-0node admits \
         sg-0backend on tcp 5514-30000 only)"
    );
    // The same world with the range widened is reachable again.
    add_rule(&mut w, NODE_SG, rule("tcp", 30001, 32767, "sg-0custom"));
    assert_eq!(only_listener(&exposure(&w), &lb).reachable_targets, 2);
}

#[test]
fn health_check_port_is_checked_separately() {
    let mut w = base();
    let (lb, tg) = web(&mut w);
    if let Some(t) = w.aws.target_groups.as_mut().and_then(|m| m.get_mut(&tg)) {
        t.health_check_port = Some("32156".into());
    }
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    assert_eq!(l.reachable_targets, 0);
    assert!(
        l.summary
            .contains("health check blocked: sg-0node has no rule for tcp/32156"),
        "{}",
        l.summary
    );
    add_rule(&mut w, NODE_SG, rule("tcp", 32156, 32156, BACKEND_SG));
    assert_eq!(only_listener(&exposure(&w), &lb).reachable_targets, 2);
}

#[test]
fn internal_lb_open_to_everything_is_not_the_internet() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    if let Some(l) = w.aws.load_balancers.as_mut().and_then(|m| m.get_mut(&lb)) {
        l.scheme = "internal".into();
    }
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    assert!(!l.internet_v4 && l.sources.addrs.covers_all_v4());
    assert!(
        e.load_balancers[&lb]
            .codes
            .contains(&Code::InternalLoadBalancer)
    );
    assert!(
        l.summary
            .starts_with("anything routed to the VPC (0.0.0.0/0) → tcp/443")
    );
}

#[test]
fn dualstack_lb_is_reachable_over_ipv6_only_with_a_v6_rule() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    if let Some(l) = w.aws.load_balancers.as_mut().and_then(|m| m.get_mut(&lb)) {
        l.ip_address_type = "dualstack".into();
    }
    assert!(!only_listener(&exposure(&w), &lb).internet_v6);
    add_rule(&mut w, "sg-0web", rule("tcp", 443, 443, "::/0"));
    let l = only_listener(&exposure(&w), &lb);
    assert!(l.internet_v4 && l.internet_v6);
    assert!(
        l.summary
            .starts_with("internet (0.0.0.0/0, ::/0) → tcp/443")
    );
}

#[test]
fn sg_less_nlb_is_filtered_by_the_node_sg() {
    let mut w = base();
    add_service(&mut w, "legacy", "gw");
    let lb = add_lb(&mut w, "gw", "network", "internet-facing", &[], "legacy/gw");
    let tg = add_tg(
        &mut w,
        "gw-80",
        &lb,
        "instance",
        "TCP",
        30808,
        Some(&[("i-0n1", 30808), ("i-0n2", 30808)]),
    );
    add_listener(&mut w, &lb, 80, "TCP", &[&tg]);
    // Client IP is preserved (instance default): the traffic rule names the clients, the
    // health-check rules the LB subnets.
    add_rule(&mut w, NODE_SG, rule("tcp", 30808, 30808, "203.0.113.0/24"));
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    let reach = &e.load_balancers[&lb];
    assert!(reach.sg_less);
    assert!(reach.codes.contains(&Code::LoadBalancerHasNoSecurityGroups));
    assert!(l.codes.contains(&Code::AssumptionPreserveClientIpIsEnabled));
    assert_eq!(l.sources.addrs.cidr_strings(), vec!["203.0.113.0/24"]);
    assert!(!l.internet_v4);
    // Health checks from the subnets are not admitted yet.
    assert_eq!(l.reachable_targets, 0);
    assert!(
        l.summary.contains(
            "health check blocked: sg-0node has no rule for tcp/30808 from the LB subnets \
             (10.0.0.0/23)"
        ),
        "{}",
        l.summary
    );
    for (_, cidr, _) in SUBNETS {
        add_rule(&mut w, NODE_SG, rule("tcp", 30808, 30808, cidr));
    }
    let l = only_listener(&exposure(&w), &lb);
    assert_eq!(l.reachable_targets, 2);
    // The subnet rules also admit clients in those subnets (D23's point).
    assert_eq!(
        l.sources.addrs.cidr_strings(),
        vec!["10.0.0.0/23", "203.0.113.0/24"]
    );
    assert_eq!(
        l.summary,
        "10.0.0.0/23, 203.0.113.0/24 → tcp/80 → 2 of 2 targets on tcp/30808"
    );
}

#[test]
fn sg_less_nlb_without_client_ip_preservation_needs_the_subnets() {
    let mut w = base();
    let key = add_service(&mut w, "legacy", "gw");
    if let Some(s) = w.kube.services.as_mut().and_then(|m| m.get_mut(&key)) {
        s.meta.annotations.insert(
            "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes".into(),
            "preserve_client_ip.enabled=false".into(),
        );
    }
    let lb = add_lb(&mut w, "gw", "network", "internet-facing", &[], "legacy/gw");
    let tg = add_tg(
        &mut w,
        "gw-80",
        &lb,
        "instance",
        "TCP",
        30808,
        Some(&[("i-0n1", 30808)]),
    );
    add_listener(&mut w, &lb, 80, "TCP", &[&tg]);
    add_rule(&mut w, NODE_SG, rule("tcp", 30808, 30808, "10.0.0.0/16"));
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    assert!(!l.codes.contains(&Code::AssumptionPreserveClientIpIsEnabled));
    assert_eq!(l.reachable_targets, 1);
    // The LB itself is the source; everyone who reaches the NLB gets through.
    assert!(l.internet_v4, "{}", l.summary);
}

#[test]
fn targets_fall_back_to_the_target_group_binding() {
    let mut w = base();
    let (lb, tg) = web(&mut w);
    w.aws.target_health = Some(Default::default());
    let e = exposure(&w);
    assert_eq!(
        e.load_balancers[&lb].target_groups[&tg].targets_from,
        TargetsFrom::NotLoaded
    );
    assert!(
        only_listener(&e, &lb)
            .summary
            .ends_with("targets not loaded")
    );
    let tgb = TargetGroupBinding {
        meta: Meta {
            namespace: "default".into(),
            name: "web-tgb".into(),
            ..Default::default()
        },
        target_group_arn: tg.clone(),
        target_type: Some("instance".into()),
        service_name: "web".into(),
        service_port: IntOrString::Int(443),
        ..Default::default()
    };
    w.kube.target_group_bindings = Some([(tgb.meta.key(), tgb)].into_iter().collect());
    // An excluded node is not a target.
    if let Some(n) = w.kube.nodes.as_mut().and_then(|m| m.get_mut("node-0n2")) {
        n.meta.labels.insert(
            "node.kubernetes.io/exclude-from-external-load-balancers".into(),
            "true".into(),
        );
    }
    let e = exposure(&w);
    let r = &e.load_balancers[&lb].target_groups[&tg];
    assert_eq!(r.targets_from, TargetsFrom::TargetGroupBinding);
    assert_eq!((r.total, r.reachable), (1, 1));
    assert_eq!(r.sets[0].targets[0].id, "i-0n1");
    assert_eq!(r.sets[0].targets[0].eni.as_deref(), Some("eni-0n1"));
}

#[test]
fn ip_targets_resolve_through_endpoint_slices_and_prefixes() {
    let mut w = base();
    add_sg(&mut w, "sg-0app", &[rule("tcp", 80, 80, "0.0.0.0/0")]);
    add_service(&mut w, "shop", "api");
    if let Some(s) = w
        .kube
        .services
        .as_mut()
        .and_then(|m| m.get_mut(&ObjKey::new("shop", "api")))
    {
        s.spec.ports = vec![ServicePort {
            name: Some("http".into()),
            protocol: Some("TCP".into()),
            port: 80,
            target_port: Some(IntOrString::Str("web".into())),
            node_port: None,
        }];
    }
    let lb = add_lb(
        &mut w,
        "api",
        "network",
        "internet-facing",
        &["sg-0app", BACKEND_SG],
        "shop/api",
    );
    let tg = add_tg(&mut w, "api-80", &lb, "ip", "TCP", 1, None);
    add_listener(&mut w, &lb, 80, "TCP", &[&tg]);
    // A pod IP from a delegated prefix of node 2's ENI.
    if let Some(e) = w.aws.enis.as_mut().and_then(|m| m.get_mut("eni-0n2")) {
        e.ipv4_prefixes = vec!["10.0.1.32/28".into()];
    }
    let slice = EndpointSlice {
        meta: Meta {
            namespace: "shop".into(),
            name: "api-abc".into(),
            ..Default::default()
        },
        service_name: Some("api".into()),
        address_type: "IPv4".into(),
        ports: vec![EndpointPort {
            name: Some("http".into()),
            port: Some(8080),
            protocol: Some("TCP".into()),
        }],
        endpoints: vec![
            Endpoint {
                addresses: vec!["10.0.1.37".into()],
                ready: true,
                ..Default::default()
            },
            Endpoint {
                addresses: vec!["10.0.0.99".into()],
                ready: false,
                ..Default::default()
            },
        ],
    };
    w.kube.endpoint_slices = Some([(slice.meta.key(), slice)].into_iter().collect());
    let tgb = TargetGroupBinding {
        meta: Meta {
            namespace: "shop".into(),
            name: "api-tgb".into(),
            ..Default::default()
        },
        target_group_arn: tg.clone(),
        target_type: Some("ip".into()),
        service_name: "api".into(),
        service_port: IntOrString::Int(80),
        ..Default::default()
    };
    w.kube.target_group_bindings = Some([(tgb.meta.key(), tgb)].into_iter().collect());
    let e = exposure(&w);
    let r = &e.load_balancers[&lb].target_groups[&tg];
    assert_eq!(r.total, 1, "the not-ready endpoint is not registered");
    let set = &r.sets[0];
    assert_eq!(set.targets[0].eni.as_deref(), Some("eni-0n2"));
    assert_eq!(set.traffic[0].to_string(), "tcp/8080");
    assert_eq!(set.verdict, Verdict::Blocked);
    add_rule(&mut w, NODE_SG, rule("tcp", 8080, 8080, BACKEND_SG));
    assert_eq!(
        exposure(&w).load_balancers[&lb].target_groups[&tg].reachable,
        1
    );
}

#[test]
fn alb_listener_rules_not_loaded_reach_the_lbs_target_groups() {
    let mut w = base();
    add_sg(
        &mut w,
        "sg-0alb",
        &[
            rule("tcp", 80, 80, "0.0.0.0/0"),
            rule("tcp", 443, 443, "0.0.0.0/0"),
        ],
    );
    add_rule(&mut w, NODE_SG, rule("tcp", 30000, 32767, BACKEND_SG));
    let ing = ObjKey::new("portal", "web");
    w.kube.ingresses = Some(
        [(
            ing.clone(),
            Ingress {
                meta: Meta {
                    namespace: "portal".into(),
                    name: "web".into(),
                    annotations: [(
                        "alb.ingress.kubernetes.io/group.name".to_string(),
                        "public".to_string(),
                    )]
                    .into_iter()
                    .collect(),
                    ..Default::default()
                },
                ..Default::default()
            },
        )]
        .into_iter()
        .collect(),
    );
    let lb = add_lb(
        &mut w,
        "public",
        "application",
        "internet-facing",
        &["sg-0alb", BACKEND_SG],
        "public",
    );
    let tg = add_tg(
        &mut w,
        "portal-web",
        &lb,
        "instance",
        "HTTP",
        30080,
        Some(&[("i-0n1", 30080)]),
    );
    add_listener(&mut w, &lb, 80, "HTTP", &[]);
    add_listener(&mut w, &lb, 443, "HTTPS", &[]);
    let e = exposure(&w);
    let reach = &e.load_balancers[&lb];
    assert_eq!(reach.listeners.len(), 2);
    for l in &reach.listeners {
        assert_eq!(l.via, Via::LoadBalancerTargetGroups);
        assert_eq!(l.target_groups, vec![tg.clone()]);
        assert!(l.codes.contains(&Code::ListenerRulesNotLoaded));
        assert_eq!(l.reachable_targets, 1);
    }
    assert_eq!(reach.owners, vec!["ingress/portal/web"]);
    assert_eq!(e.resources["ingress/portal/web"].lines.len(), 2);
}

#[test]
fn frontend_without_a_rule_for_the_listener_port_admits_nobody() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    if let Some(sg) = sgs(&mut w).get_mut("sg-0web") {
        sg.ingress = vec![rule("tcp", 80, 80, "0.0.0.0/0")];
    }
    let l = only_listener(&exposure(&w), &lb);
    assert!(l.sources.is_empty());
    assert!(l.codes.contains(&Code::EniSgRulesMismatch));
    assert!(
        l.summary.starts_with(
            "nobody → tcp/443 (blocked: sg-0web + sg-0backend have no rule for tcp/443)"
        ),
        "{}",
        l.summary
    );
}

#[test]
fn missing_data_is_named_not_guessed() {
    let mut w = base();
    let (lb, tg) = web(&mut w);
    // The node SG is not loaded: the answer is unknown, not blocked.
    sgs(&mut w).remove(NODE_SG);
    let e = exposure(&w);
    let set = &e.load_balancers[&lb].target_groups[&tg].sets[0];
    assert_eq!(set.verdict, Verdict::Unknown);
    assert!(
        set.traffic_check
            .codes
            .contains(&Code::SecurityGroupNotLoaded)
    );
    assert!(
        only_listener(&e, &lb)
            .summary
            .contains("unknown: cannot decide")
    );
    // Listeners not loaded at all.
    let mut w = base();
    let (lb, _) = web(&mut w);
    w.aws.listeners = None;
    let e = exposure(&w);
    assert!(!e.load_balancers[&lb].listeners_loaded);
    assert_eq!(
        e.resources["service/default/web"].lines,
        vec!["web: listeners not loaded"]
    );
    assert!(e.notes.iter().any(|n| n == "listeners not loaded"));
}

#[test]
fn owners_match_by_hostname_when_tags_do_not() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    if let Some(l) = w.aws.load_balancers.as_mut().and_then(|m| m.get_mut(&lb)) {
        l.tags.clear();
    }
    let e = exposure(&w);
    assert!(e.resources["service/default/web"].load_balancers.is_empty());
    if let Some(s) = w
        .kube
        .services
        .as_mut()
        .and_then(|m| m.get_mut(&ObjKey::new("default", "web")))
    {
        s.lb_hostnames = vec!["WEB.elb.us-east-1.amazonaws.com".into()];
    }
    let e = exposure(&w);
    let owned = &e.resources["service/default/web"].load_balancers;
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].matched_by, super::owners::MatchedBy::Hostname);
}

#[test]
fn prefix_lists_expand_when_loaded_and_are_named_when_not() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    if let Some(sg) = sgs(&mut w).get_mut("sg-0web") {
        sg.ingress = vec![
            rule("tcp", 443, 443, "pl-0office"),
            rule("tcp", 443, 443, "pl-0vendors"),
        ];
    }
    let pl = |id: &str, entries: Option<Vec<String>>| PrefixList {
        id: id.into(),
        name: id.into(),
        entries,
        ..Default::default()
    };
    w.aws.prefix_lists = Some(
        [
            (
                "pl-0office".to_string(),
                pl("pl-0office", Some(vec!["198.51.100.0/24".into()])),
            ),
            ("pl-0vendors".to_string(), pl("pl-0vendors", None)),
        ]
        .into_iter()
        .collect(),
    );
    let l = only_listener(&exposure(&w), &lb);
    assert_eq!(l.sources.addrs.cidr_strings(), vec!["198.51.100.0/24"]);
    assert!(l.sources.prefix_lists.contains("pl-0office"));
    assert!(l.sources.unexpanded_prefix_lists.contains("pl-0vendors"));
    assert!(
        l.summary
            .starts_with("198.51.100.0/24, pl-0office, pl-0vendors (entries not loaded) → tcp/443"),
        "{}",
        l.summary
    );
}

#[test]
fn all_traffic_rules_admit_every_port_and_protocol() {
    let mut w = base();
    let (lb, tg) = web(&mut w);
    if let Some(sg) = sgs(&mut w).get_mut(NODE_SG) {
        sg.ingress = vec![rule("-1", -1, -1, BACKEND_SG)];
    }
    if let Some(t) = w.aws.target_groups.as_mut().and_then(|m| m.get_mut(&tg)) {
        t.protocol = Some("TCP_UDP".into());
    }
    let e = exposure(&w);
    let set = &e.load_balancers[&lb].target_groups[&tg].sets[0];
    assert_eq!(set.traffic.len(), 2, "TCP_UDP needs tcp and udp");
    assert_eq!(set.verdict, Verdict::Admitted);
    // With tcp only, the udp half is blocked.
    if let Some(sg) = sgs(&mut w).get_mut(NODE_SG) {
        sg.ingress = vec![rule("tcp", 0, 65535, BACKEND_SG)];
    }
    let e = exposure(&w);
    let l = only_listener(&e, &lb);
    assert_eq!((l.reachable_targets, l.blocked_targets), (0, 2));
    assert!(l.summary.contains("no rule for udp/31443"), "{}", l.summary);
}

#[test]
fn frontend_sg_not_loaded_is_unknown_not_nobody() {
    let mut w = base();
    let (lb, _) = web(&mut w);
    sgs(&mut w).remove("sg-0web");
    let l = only_listener(&exposure(&w), &lb);
    assert!(l.codes.contains(&Code::SecurityGroupNotLoaded));
    assert!(!l.codes.contains(&Code::EniSgRulesMismatch));
    assert!(
        l.summary
            .starts_with("unknown (sg-0web not loaded) → tcp/443"),
        "{}",
        l.summary
    );
}

#[test]
fn resource_exposure_returns_the_chain_of_one_owner() {
    let mut w = base();
    web(&mut w);
    let idx = super::WorldIndex::new(&w);
    let r = crate::core::plan::ResourceRef::Service(ObjKey::new("default", "web"));
    let (reach, lbs) = super::exposure::resource_exposure(&idx, &r);
    assert_eq!(lbs.len(), 1);
    assert_eq!(reach.lines.len(), 1);
    let missing = crate::core::plan::ResourceRef::Service(ObjKey::new("default", "nope"));
    let (reach, lbs) = super::exposure::resource_exposure(&idx, &missing);
    assert!(lbs.is_empty());
    assert!(reach.lines[0].starts_with("no load balancer found"));
}
