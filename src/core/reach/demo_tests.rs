//! The demo world (assets/demo/world.yaml): the exposure facts its README promises, one test
//! per situation that concerns reachability.

use super::admit::Verdict;
use super::explain::Code;
use super::exposure::{Exposure, LbReach, exposure};
use crate::world::World;

fn demo() -> World {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/world.yaml");
    match crate::world::file::load_path(std::path::Path::new(path)) {
        Ok(w) => w,
        Err(e) => panic!("demo world does not load: {e}"),
    }
}

fn lines(e: &Exposure, r: &str) -> Vec<String> {
    e.resources
        .get(r)
        .map(|x| x.lines.clone())
        .unwrap_or_default()
}

/// The (single) LB of a resource.
fn lb<'e>(e: &'e Exposure, r: &str) -> &'e LbReach {
    let owned = &e.resources[r].load_balancers;
    assert_eq!(owned.len(), 1, "{r}: {owned:?}");
    &e.load_balancers[&owned[0].load_balancer]
}

#[test]
fn healthy_services_read_as_the_readme_says() {
    let e = exposure(&demo());
    assert_eq!(
        lines(&e, "service/default/web"),
        vec![
            "k8s-default-web-5d3dbb718c: internet (0.0.0.0/0) → tcp/443 → 2 of 2 targets on tcp/31443"
        ]
    );
    // Reachable through the one shared restricted range from the backend SG.
    let web = lb(&e, "service/default/web");
    let tg = web.target_groups.values().next().map(|t| t.sets[0].clone());
    let rule = tg
        .map(|s| s.traffic_check.rules[0].to_string())
        .unwrap_or_default();
    assert_eq!(rule, "sg-0nodes: tcp 5514-32443 from sg-0backend");
    assert!(
        lines(&e, "service/payments/checkout")[0]
            .ends_with("→ tcp/443 → 2 of 2 targets on tcp/30443")
    );
    assert!(
        lines(&e, "ingress/shop/storefront")[0].ends_with("→ tcp/80 → 2 of 2 targets on tcp/8080")
    );
}

#[test]
fn invoices_targets_are_blocked_d07() {
    let e = exposure(&demo());
    let l = &lb(&e, "service/billing/invoices").listeners[0];
    assert_eq!((l.reachable_targets, l.total_targets), (0, 2));
    assert!(l.codes.contains(&Code::EniSgRulesMismatch));
    assert!(
        l.summary
            .ends_with("blocked: sg-0nodes has no rule for tcp/30643 from sg-0invoiceslb"),
        "{}",
        l.summary
    );
}

#[test]
fn legacy_nlb_is_filtered_on_the_node_sg_d01_d23() {
    let e = exposure(&demo());
    let reach = lb(&e, "service/legacy/old-gateway");
    assert!(reach.sg_less && reach.codes.contains(&Code::LoadBalancerHasNoSecurityGroups));
    let l = &reach.listeners[0];
    // 203.0.113.0/24 from the source ranges, plus the three subnets the health-check rules open.
    assert_eq!(
        l.sources.addrs.cidr_strings(),
        vec!["10.0.0.0/18", "10.0.64.0/19", "203.0.113.0/24"]
    );
    assert!(!l.internet_v4);
    assert_eq!(l.reachable_targets, 2);
}

#[test]
fn internal_grafana_open_to_everything_d19() {
    let e = exposure(&demo());
    let reach = lb(&e, "service/internal-tools/grafana");
    assert!(reach.internal);
    let l = &reach.listeners[0];
    assert!(l.sources.addrs.covers_all_v4() && !l.internet_v4);
    assert!(
        l.summary
            .starts_with("anything routed to the VPC (0.0.0.0/0) → tcp/80")
    );
}

#[test]
fn dualstack_gateway_checks_the_health_check_node_port() {
    let e = exposure(&demo());
    let reach = lb(&e, "service/edge/gateway");
    assert_eq!(reach.listeners.len(), 2);
    for l in &reach.listeners {
        assert!(l.internet_v4 && l.internet_v6, "{}", l.summary);
        assert_eq!(l.reachable_targets, 2);
    }
    let hc: Vec<u16> = reach
        .target_groups
        .values()
        .flat_map(|t| &t.sets)
        .filter_map(|s| s.health_check.map(|h| h.port))
        .collect();
    assert!(hc.iter().all(|p| *p == 32156), "{hc:?}");
}

#[test]
fn report_api_pod_eni_admits_nothing_d04() {
    let e = exposure(&demo());
    let l = &lb(&e, "service/batch/report-api").listeners[0];
    assert_eq!(l.reachable_targets, 0);
    let tg = &lb(&e, "service/batch/report-api").target_groups[&l.target_groups[0]];
    assert_eq!(tg.sets[0].sgs, vec!["sg-0batchnodes", "sg-0ekscluster"]);
    assert_eq!(tg.sets[0].verdict, Verdict::Blocked);
}

#[test]
fn search_api_has_no_load_balancer_d14() {
    let e = exposure(&demo());
    assert!(
        e.resources["service/search/search-api"]
            .load_balancers
            .is_empty()
    );
}

#[test]
fn in_tree_jenkins_maps_by_its_own_tags_d02() {
    let e = exposure(&demo());
    let owned = &e.resources["service/ops/jenkins"].load_balancers;
    assert_eq!(owned[0].matched_by, super::owners::MatchedBy::InTreeTags);
    let l = &lb(&e, "service/ops/jenkins").listeners[0];
    assert!(
        l.sources.addrs.contains(
            "198.51.100.7"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
        )
    );
}

#[test]
fn udp_syslog_needs_udp_traffic_and_tcp_health_checks() {
    let e = exposure(&demo());
    let reach = lb(&e, "service/streaming/syslog");
    let l = &reach.listeners[0];
    assert_eq!(l.traffic[0].to_string(), "udp/514");
    assert_eq!(l.reachable_targets, 2);
    let set = &reach.target_groups[&l.target_groups[0]].sets[0];
    assert_eq!(set.traffic[0].to_string(), "udp/5514");
    assert_eq!(
        set.health_check.map(|t| t.to_string()).as_deref(),
        Some("tcp/5514")
    );
}

#[test]
fn no_planted_problem_without_a_blocked_target_elsewhere() {
    // Only the planted D07 (invoices) and D04 (report-api) have unreachable targets.
    let e = exposure(&demo());
    let blocked: Vec<&String> = e
        .resources
        .iter()
        .filter(|(_, r)| {
            r.load_balancers.iter().any(|o| {
                e.load_balancers[&o.load_balancer]
                    .listeners
                    .iter()
                    .any(|l| l.reachable_targets < l.total_targets)
            })
        })
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        blocked,
        vec!["service/batch/report-api", "service/billing/invoices"]
    );
}
