//! World-based endpoint → ENI resolution, and the composition over a World.

use std::collections::BTreeMap;

use super::*;
use crate::core::lbc::target::{SHARED_RULE_DESCRIPTION, desired_target_rules};
use crate::world::{
    ClusterInfo, ControllerConfig, Endpoint, EndpointPort, EndpointSlice, InstanceEni, IntOrString,
    Meta, NetworkingPeer, NetworkingPort, NetworkingRule, Rule, SecurityGroup, ServiceSpec, SgRule,
    Source, Tags, Taint,
};

fn meta(ns: &str, name: &str) -> Meta {
    Meta {
        namespace: ns.into(),
        name: name.into(),
        ..Meta::default()
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn node(name: &str, instance: &str) -> Node {
    Node {
        meta: meta("", name),
        provider_id: Some(format!("aws:///us-east-1a/{instance}")),
        internal_ips: vec![],
        taints: vec![],
        ready: true,
    }
}

fn instance(id: &str, enis: &[(&str, i32)], sgs: &[&str]) -> Instance {
    Instance {
        id: id.into(),
        enis: enis
            .iter()
            .map(|(e, i)| InstanceEni {
                id: e.to_string(),
                device_index: *i,
            })
            .collect(),
        security_groups: sgs.iter().map(|s| s.to_string()).collect(),
        ..Instance::default()
    }
}

fn eni(id: &str, sgs: &[&str], ips: &[&str], prefixes: &[&str]) -> NetworkInterface {
    NetworkInterface {
        id: id.into(),
        vpc_id: Some("vpc-1".into()),
        groups: sgs.iter().map(|s| s.to_string()).collect(),
        private_ips: ips.iter().map(|s| s.to_string()).collect(),
        ipv4_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        ..NetworkInterface::default()
    }
}

fn service(ns: &str, name: &str, type_: &str, port_name: &str) -> Service {
    Service {
        meta: meta(ns, name),
        spec: ServiceSpec {
            type_: type_.into(),
            ports: vec![ServicePort {
                name: Some(port_name.into()),
                protocol: Some("TCP".into()),
                port: 80,
                target_port: Some(IntOrString::Str("http".into())),
                node_port: Some(30080),
            }],
            ..ServiceSpec::default()
        },
        lb_hostnames: vec![],
    }
}

fn pod(name: &str, node: &str, ip: &str) -> Pod {
    Pod {
        meta: meta("app", name),
        node_name: Some(node.into()),
        pod_ips: vec![ip.into()],
        ports: vec![crate::world::ContainerPort {
            name: Some("http".into()),
            container_port: 8080,
            protocol: None,
        }],
        ready: true,
    }
}

fn endpoint(pod: &str, ip: &str, ready: bool) -> Endpoint {
    Endpoint {
        addresses: vec![ip.into()],
        ready,
        node_name: None,
        pod: Some(ObjKey::new("", pod)),
    }
}

fn slice(name: &str, family: &str, port_name: &str, endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        meta: meta("app", name),
        service_name: Some("web".into()),
        address_type: family.into(),
        ports: vec![EndpointPort {
            name: Some(port_name.into()),
            port: Some(8080),
            protocol: None,
        }],
        endpoints,
    }
}

fn sg(id: &str, tags: &[(&str, &str)], ingress: Vec<Rule>) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        vpc_id: Some("vpc-1".into()),
        tags: map(tags),
        ingress: ingress
            .into_iter()
            .map(|rule| SgRule {
                rule,
                id: None,
                tags: Tags::new(),
            })
            .collect(),
        ..SecurityGroup::default()
    }
}

fn tgb(key: &str, target_type: &str) -> TgbSpec {
    TgbSpec {
        key: key.into(),
        namespace: "app".into(),
        target_type: target_type.into(),
        service_name: "web".into(),
        service_port: IntOrString::Int(80),
        node_selector: BTreeMap::new(),
        ip_address_type: None,
        networking: Some(vec![NetworkingRule {
            from: vec![NetworkingPeer::SecurityGroup("sg-backend".into())],
            ports: vec![NetworkingPort {
                protocol: None,
                port: Some(if target_type == "ip" {
                    IntOrString::Str("http".into())
                } else {
                    IntOrString::Int(30080)
                }),
            }],
        }]),
    }
}

const CLUSTER_TAG: (&str, &str) = ("kubernetes.io/cluster/demo", "owned");

/// Three eligible-looking nodes and several that must be left out.
fn world() -> World {
    let mut nodes = BTreeMap::new();
    let mut add = |n: Node| {
        nodes.insert(n.meta.name.clone(), n);
    };
    add(node("node-a", "i-a"));
    add(node("node-b", "i-b"));
    let mut master = node("master", "i-m");
    master.meta.labels = map(&[("node-role.kubernetes.io/master", "")]);
    add(master);
    let mut excluded = node("excluded", "i-x");
    excluded.meta.labels = map(&[(
        "node.kubernetes.io/exclude-from-external-load-balancers",
        "true",
    )]);
    add(excluded);
    let mut fargate = node("fargate-1", "i-f");
    fargate.meta.labels = map(&[("eks.amazonaws.com/compute-type", "fargate")]);
    add(fargate);
    let mut hybrid = node("hybrid-1", "mi-1");
    hybrid.provider_id = Some("eks-hybrid://cluster/mi-1".into());
    hybrid.meta.labels = map(&[("eks.amazonaws.com/compute-type", "hybrid")]);
    hybrid.ready = false; // keeps it out of instance targets
    add(hybrid);
    let mut not_ready = node("not-ready", "i-n");
    not_ready.ready = false;
    add(not_ready);
    let mut scaling_down = node("scaling-down", "i-s");
    scaling_down.taints = vec![Taint {
        key: "ToBeDeletedByClusterAutoscaler".into(),
        value: None,
        effect: "NoSchedule".into(),
    }];
    add(scaling_down);
    let mut disrupted = node("disrupted", "i-d");
    disrupted.taints = vec![Taint {
        key: "karpenter.sh/disrupted".into(),
        value: None,
        effect: "NoSchedule".into(),
    }];
    add(disrupted);

    let instances = [
        // primary ENI listed second: device index decides
        instance("i-a", &[("eni-a1", 1), ("eni-a0", 0)], &[]),
        // ENI not loaded: the instance's SGs stand in
        instance("i-b", &[("eni-b0", 0)], &["sg-node"]),
    ];
    let enis = [
        eni("eni-a0", &["sg-node", "sg-extra"], &["10.0.1.10"], &[]),
        eni(
            "eni-a1",
            &["sg-node", "sg-extra"],
            &["10.0.1.20", "10.0.1.21"],
            &["10.0.9.0/28"],
        ),
        eni("eni-branch", &["sg-pod"], &["10.0.1.99"], &[]),
        eni("eni-fargate", &["sg-fargate"], &["10.0.2.5"], &[]),
    ];
    let sgs = [
        sg("sg-node", &[CLUSTER_TAG], vec![]),
        sg("sg-extra", &[], vec![]),
        sg("sg-pod", &[], vec![]),
        sg("sg-fargate", &[], vec![]),
        sg(
            "sg-old",
            &[("kubernetes.io/cluster/demo", "shared")],
            vec![Rule::new(
                "tcp",
                1,
                2,
                Source::Group("sg-backend".into()),
                SHARED_RULE_DESCRIPTION,
            )],
        ),
        sg(
            "sg-untagged",
            &[],
            vec![Rule::new(
                "tcp",
                1,
                2,
                Source::Group("sg-backend".into()),
                SHARED_RULE_DESCRIPTION,
            )],
        ),
    ];

    let mut w = World {
        cluster: ClusterInfo {
            name: Some("demo".into()),
            vpc_id: Some("vpc-1".into()),
            ..ClusterInfo::default()
        },
        controller: Some(ControllerConfig {
            cluster_name: "demo".into(),
            ..ControllerConfig::default()
        }),
        ..World::default()
    };
    let svc = service("app", "web", "LoadBalancer", "web");
    w.kube.services = Some(BTreeMap::from([(svc.meta.key(), svc)]));
    w.kube.nodes = Some(nodes);
    w.kube.pods = Some(BTreeMap::new());
    w.kube.endpoint_slices = Some(BTreeMap::new());
    w.aws.instances = Some(instances.into_iter().map(|i| (i.id.clone(), i)).collect());
    w.aws.enis = Some(enis.into_iter().map(|e| (e.id.clone(), e)).collect());
    w.aws.security_groups = Some(sgs.into_iter().map(|s| (s.id.clone(), s)).collect());
    w
}

fn add_pods(w: &mut World, pods: Vec<Pod>, slices: Vec<EndpointSlice>) {
    if let Some(p) = w.kube.pods.as_mut() {
        p.extend(pods.into_iter().map(|p| (p.meta.key(), p)));
    }
    if let Some(s) = w.kube.endpoint_slices.as_mut() {
        s.extend(slices.into_iter().map(|s| (s.meta.key(), s)));
    }
}

fn eni_ids(r: Result<TargetEndpoints, TargetError>) -> Result<Vec<(String, String)>, TargetError> {
    match r? {
        TargetEndpoints::Enis(enis) => Ok(enis
            .into_iter()
            .map(|e| (e.target.name, e.eni_id))
            .collect()),
        TargetEndpoints::BackendNotFound(m) => Err(TargetError::Unknown(m)),
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn instance_targets_use_primary_enis_of_eligible_nodes_only() {
    let w = world();
    let got = resolve_endpoint_enis(&w, &tgb("t", "instance"));
    assert_eq!(
        eni_ids(got),
        Ok(vec![pair("node-a", "eni-a0"), pair("node-b", "eni-b0")])
    );
    // the node selector narrows further
    let only_b = tgb("t", "instance").with_node_selector(map(&[("pool", "b")]));
    let mut w2 = w.clone();
    if let Some(n) = w2.kube.nodes.as_mut().and_then(|n| n.get_mut("node-b")) {
        n.meta.labels = map(&[("pool", "b")]);
    }
    assert_eq!(
        eni_ids(resolve_endpoint_enis(&w2, &only_b)),
        Ok(vec![pair("node-b", "eni-b0")])
    );
}

#[test]
fn instance_security_groups_come_from_the_eni_or_else_the_instance() {
    let w = world();
    let Ok(TargetEndpoints::Enis(enis)) = resolve_endpoint_enis(&w, &tgb("t", "instance")) else {
        panic!("expected ENIs");
    };
    let sgs: Vec<Vec<String>> = enis.into_iter().map(|e| e.security_groups).collect();
    assert_eq!(
        sgs,
        vec![
            vec!["sg-node".to_string(), "sg-extra".to_string()],
            vec!["sg-node".to_string()]
        ]
    );
}

#[test]
fn instance_errors_carry_the_lbc_texts() {
    let mut w = world();
    if let Some(i) = w.aws.instances.as_mut() {
        i.remove("i-b");
    }
    assert_eq!(
        resolve_endpoint_enis(&w, &tgb("t", "instance")),
        Err(TargetError::Lbc(
            "cannot resolve node ENI for nodes: [/node-b]".into()
        ))
    );
    if let Some(n) = w.kube.nodes.as_mut().and_then(|n| n.get_mut("node-a")) {
        n.provider_id = Some("aws:///us-east-1a/garbage".into());
    }
    assert_eq!(
        resolve_endpoint_enis(&w, &tgb("t", "instance")),
        Err(TargetError::Lbc(
            "providerID aws:///us-east-1a/garbage is invalid for EC2 instances, node: node-a"
                .into()
        ))
    );
    let mut w = world();
    let svc = service("app", "web", "ClusterIP", "web");
    w.kube.services = Some(BTreeMap::from([(svc.meta.key(), svc)]));
    assert_eq!(
        resolve_endpoint_enis(&w, &tgb("t", "instance")),
        Err(TargetError::Lbc(
            "service type must be either 'NodePort' or 'LoadBalancer': app/web".into()
        ))
    );
}

#[test]
fn missing_backend_is_not_an_error() {
    let mut w = world();
    let mut t = tgb("t", "instance");
    t.service_port = IntOrString::Str("nope".into());
    assert_eq!(
        resolve_endpoint_enis(&w, &t),
        Ok(TargetEndpoints::BackendNotFound(
            "backend not found: unable to find port nope on service app/web".into()
        ))
    );
    w.kube.services = Some(BTreeMap::new());
    assert_eq!(
        resolve_endpoint_enis(&w, &t),
        Ok(TargetEndpoints::BackendNotFound(
            "backend not found: services \"web\" not found".into()
        ))
    );
    w.kube.services = None;
    assert_eq!(
        resolve_endpoint_enis(&w, &t),
        Err(TargetError::Unknown("services not loaded".into()))
    );
}

#[test]
fn ip_targets_find_branch_node_prefix_and_vpc_enis() {
    let mut w = world();
    let mut branch = pod("branch", "node-a", "10.0.1.99");
    branch.meta.annotations = map(&[(
        "vpc.amazonaws.com/pod-eni",
        r#"[{"eniId":"eni-branch","ifAddress":"02:00","privateIp":"10.0.1.99","vlanId":1}]"#,
    )]);
    let secondary = pod("secondary", "node-a", "10.0.1.21");
    let prefixed = pod("prefixed", "node-a", "10.0.9.7");
    let fargate = pod("fargate", "fargate-1", "10.0.2.5");
    let hybrid = pod("hybrid", "hybrid-1", "192.168.50.2");
    let mut gated = pod("gated", "node-a", "10.0.1.20");
    gated.ready = true; // containers ready, endpoint held back by a readiness gate
    let mut leaving = pod("leaving", "node-a", "10.0.1.10");
    leaving.meta.deleting = true;
    let v6 = pod("v6", "node-a", "10.0.1.10");
    let eps = vec![
        endpoint("branch", "10.0.1.99", true),
        endpoint("secondary", "10.0.1.21", true),
        endpoint("prefixed", "10.0.9.7", true),
        endpoint("fargate", "10.0.2.5", true),
        endpoint("hybrid", "192.168.50.2", true),
        endpoint("gated", "10.0.1.20", false),
        endpoint("leaving", "10.0.1.10", false),
        endpoint("ghost", "10.0.1.77", true), // no such pod: skipped
    ];
    add_pods(
        &mut w,
        vec![
            branch, secondary, prefixed, fargate, hybrid, gated, leaving, v6,
        ],
        vec![
            slice("web-1", "IPv4", "web", eps),
            slice(
                "web-v6",
                "IPv6",
                "web",
                vec![endpoint("v6", "fd00::1", true)],
            ),
            slice(
                "web-other-port",
                "IPv4",
                "metrics",
                vec![endpoint("v6", "10.0.1.10", true)],
            ),
        ],
    );
    assert_eq!(
        eni_ids(resolve_endpoint_enis(&w, &tgb("t", "ip"))),
        Ok(vec![
            pair("branch", "eni-branch"),
            pair("secondary", "eni-a1"),
            pair("prefixed", "eni-a1"),
            pair("fargate", "eni-fargate"),
            pair("gated", "eni-a1"),
        ])
    );
}

#[test]
fn ip_target_without_an_eni_is_reported_by_pod() {
    let mut w = world();
    add_pods(
        &mut w,
        vec![
            pod("lost", "node-b", "10.0.7.7"),
            pod("lost2", "node-a", "10.0.7.8"),
        ],
        vec![slice(
            "web-1",
            "IPv4",
            "web",
            vec![
                endpoint("lost", "10.0.7.7", true),
                endpoint("lost2", "10.0.7.8", true),
            ],
        )],
    );
    assert_eq!(
        resolve_endpoint_enis(&w, &tgb("t", "ip")),
        Err(TargetError::Lbc(
            "cannot resolve pod ENI for pods: [app/lost app/lost2]".into()
        ))
    );
}

#[test]
fn desired_rules_merge_bindings_and_collect_garbage() {
    let mut w = world();
    add_pods(
        &mut w,
        vec![pod("secondary", "node-a", "10.0.1.21")],
        vec![slice(
            "web-1",
            "IPv4",
            "web",
            vec![endpoint("secondary", "10.0.1.21", true)],
        )],
    );
    let mut hc = tgb("hc", "instance");
    if let Some(n) = hc.networking.as_mut() {
        n[0].ports[0].port = Some(IntOrString::Int(10256));
    }
    let got = desired_target_rules(&w, &[tgb("inst", "instance"), hc, tgb("pods", "ip")]);
    assert!(got.complete);
    let shared = |from, to| {
        Rule::new(
            "tcp",
            from,
            to,
            Source::Group("sg-backend".into()),
            SHARED_RULE_DESCRIPTION,
        )
    };
    assert_eq!(
        got.per_sg,
        BTreeMap::from([("sg-node".to_string(), vec![shared(8080, 30080)])])
    );
    assert_eq!(got.gc, ["sg-old".to_string()].into());
    assert_eq!(got.untracked_stale, ["sg-untagged".to_string()].into());
    let changes = super::super::target_sg_changes(&w, &got);
    assert_eq!(
        changes.get("sg-node").map(|c| c.authorize.clone()),
        Some(vec![shared(8080, 30080)])
    );
    assert_eq!(changes.get("sg-old").map(|c| c.revoke.len()), Some(1));
}

#[test]
fn one_failing_binding_makes_the_controller_authorize_only() {
    let mut w = world();
    // two cluster-tagged SGs on node-a's primary ENI: SG selection fails for that binding
    if let Some(sg) = w
        .aws
        .security_groups
        .as_mut()
        .and_then(|s| s.get_mut("sg-extra"))
    {
        sg.tags = map(&[CLUSTER_TAG]);
    }
    let got = desired_target_rules(&w, &[tgb("inst", "instance")]);
    assert!(!got.complete);
    assert!(got.gc.is_empty());
    assert_eq!(
        got.tgbs.first().map(|t| t.result.clone()),
        Some(Err(TargetError::Lbc(
            "expected exactly one securityGroup tagged with kubernetes.io/cluster/demo for eni eni-a0, got: [sg-extra sg-node] (clusterName: demo)".into()
        )))
    );
}
