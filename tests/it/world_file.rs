//! World files: real kubectl / AWS CLI output loads unchanged, malformed files are rejected with
//! position, field path and expectation, and every world saves and reads back equal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lbsg::world::file::{load_path, load_str, save_path_atomic, save_string};
use lbsg::world::*;

const WORLDS: &str = "tests/worlds";

fn load(name: &str) -> World {
    let path = Path::new(WORLDS).join(name);
    load_path(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn s(v: &str) -> String {
    v.to_string()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (s(k), s(v))).collect()
}

const WEB_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-shop-web-6b1f0e2c9d/a1b2c3d4e5f60718";
const WEB_NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/k8s-shop-web-1a2b3c4d5e/0123456789abcdef";
const LEGACY_NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/k8s-legacy-nlb-9f8e7d6c5b/fedcba9876543210";

#[test]
fn real_cli_output_loads_the_cluster_side() {
    let w = load("real-cli-output.yaml");

    // No controller: section; the LBC Deployment among the kubectl items supplies the args,
    // and the other Deployment (the app) is not mistaken for it.
    let c = w
        .controller
        .as_ref()
        .expect("controller from the LBC Deployment");
    assert_eq!(c.cluster_name, "demo");
    assert_eq!(c.vpc_id.as_deref(), Some("vpc-0f3a9c1d2e4b5a6c7"));
    assert!(c.feature_gates.enabled("EnableTCPUDPListener"));
    assert_eq!(
        c.default_tags,
        tags(&[("env", "prod"), ("team", "platform")])
    );
    assert_eq!(
        w.cluster.name.as_deref(),
        Some("demo"),
        "cluster.name falls back to --cluster-name"
    );
    assert_eq!(w.cluster.region.as_deref(), Some("us-east-1"));

    let k = &w.kube;
    let services = k.services.as_ref().unwrap();
    // The Knative `Service` (serving.knative.dev) is another kind: ignored.
    assert_eq!(
        services.keys().map(ToString::to_string).collect::<Vec<_>>(),
        ["shop/legacy", "shop/web"]
    );
    let web = &services[&ObjKey::new("shop", "web")];
    assert_eq!(web.meta.uid, "3f7e1c2a-5b8d-4e0f-9a61-2c7d8e9f0a1b");
    assert_eq!(web.meta.resource_version, "48213");
    assert_eq!(web.meta.finalizers, ["service.k8s.aws/resources"]);
    assert_eq!(web.spec.type_, "LoadBalancer");
    assert_eq!(
        web.spec.load_balancer_class.as_deref(),
        Some("service.k8s.aws/nlb")
    );
    // Passed through unvalidated: a bad range is the LBC's (and lbsg's audit's) business.
    assert_eq!(
        web.spec.load_balancer_source_ranges,
        ["203.0.113.0/24", "not-a-cidr"]
    );
    assert_eq!(
        web.spec.ports,
        [ServicePort {
            name: Some(s("https")),
            protocol: Some(s("TCP")),
            port: 443,
            target_port: Some(IntOrString::Str(s("https"))),
            node_port: Some(31443),
        }]
    );
    assert_eq!(
        web.lb_hostnames,
        ["k8s-shop-web-1a2b3c4d5e-0123456789abcdef.elb.us-east-1.amazonaws.com"]
    );
    // managedFields: Helm owns the chart's annotations, a later `kubectl annotate` owns the SG one;
    // the finalizer and status managers own no annotation.
    let managers = &web.meta.annotation_managers;
    assert_eq!(
        managers["service.beta.kubernetes.io/aws-load-balancer-scheme"],
        ["helm"]
    );
    assert_eq!(
        managers["service.beta.kubernetes.io/aws-load-balancer-security-groups"],
        ["kubectl-annotate"]
    );
    assert_eq!(managers.len(), 5);
    let legacy = &services[&ObjKey::new("shop", "legacy")];
    assert_eq!(
        legacy.spec.ports[0].target_port,
        Some(IntOrString::Int(8080))
    );

    let ing = &k.ingresses.as_ref().unwrap()[&ObjKey::new("shop", "storefront")];
    assert_eq!(ing.ingress_class_name.as_deref(), Some("alb"));
    let backends: Vec<_> = ing
        .backends()
        .map(|b| (b.service_name.as_str(), b.service_port.clone()))
        .collect();
    // The `resource` backend has no Service and is left out.
    assert_eq!(
        backends,
        [
            ("web", IntOrString::Str(s("https"))),
            ("web", IntOrString::Int(443)),
            ("legacy", IntOrString::Int(8080))
        ]
    );
    assert_eq!(ing.rules[0].host.as_deref(), Some("shop.example.com"));
    assert_eq!(ing.rules[1].host, None);
    assert_eq!(ing.tls_hosts, ["shop.example.com", "www.shop.example.com"]);
    assert_eq!(
        ing.meta.annotation_managers["alb.ingress.kubernetes.io/listen-ports"],
        ["argocd-controller"]
    );

    let class = &k.ingress_classes.as_ref().unwrap()["alb"];
    assert!(class.is_default);
    assert_eq!(class.controller, "ingress.k8s.aws/alb");
    assert_eq!(class.params_name.as_deref(), Some("alb-params"));
    let params = &k.ingress_class_params.as_ref().unwrap()["alb-params"];
    assert_eq!(params.meta.namespace, "", "cluster-scoped");
    assert_eq!(params.group_name.as_deref(), Some("shop"));
    assert_eq!(params.inbound_cidrs, ["10.0.0.0/8", "192.168.0.0/16"]);
    assert_eq!(params.tags, tags(&[("team", "shop")]));
    assert!(params.namespace_selector);

    let tgb =
        &k.target_group_bindings.as_ref().unwrap()[&ObjKey::new("shop", "k8s-shop-web-6b1f0e2c9d")];
    assert_eq!(tgb.target_group_arn, WEB_TG);
    assert_eq!(tgb.service_port, IntOrString::Int(443));
    assert_eq!(
        tgb.networking.as_deref().unwrap(),
        [
            NetworkingRule {
                from: vec![NetworkingPeer::SecurityGroup(s("sg-0b1c2d3e4f5a6b7c8"))],
                ports: vec![NetworkingPort {
                    protocol: Some(s("TCP")),
                    port: Some(IntOrString::Int(31443))
                }],
            },
            NetworkingRule {
                from: vec![NetworkingPeer::IpBlock(s("10.0.0.0/16"))],
                ports: vec![NetworkingPort {
                    protocol: Some(s("TCP")),
                    port: None
                }],
            },
        ]
    );

    let node = &k.nodes.as_ref().unwrap()["ip-10-0-1-23.ec2.internal"];
    assert_eq!(node.instance_id(), Some("i-0a1b2c3d4e5f60718"));
    assert_eq!(node.internal_ips, ["10.0.1.23"]);
    assert!(node.ready);
    assert_eq!(node.taints.len(), 2);
    assert_eq!(node.taints[1].value, None);
    assert_eq!(node.meta.namespace, "");

    let pod = &k.pods.as_ref().unwrap()[&ObjKey::new("shop", "web-7c9d8b6f5-x2k4p")];
    assert_eq!(pod.pod_ips, ["10.0.1.71"]);
    assert_eq!(pod.node_name.as_deref(), Some("ip-10-0-1-23.ec2.internal"));
    assert_eq!(
        pod.ports
            .iter()
            .map(|p| p.container_port)
            .collect::<Vec<_>>(),
        [8443, 9901]
    );
    assert!(pod.ready);

    let slice = &k.endpoint_slices.as_ref().unwrap()[&ObjKey::new("shop", "web-h7x2q")];
    assert_eq!(slice.service_name.as_deref(), Some("web"));
    assert_eq!(
        slice.endpoints[0].pod,
        Some(ObjKey::new("shop", "web-7c9d8b6f5-x2k4p"))
    );
    // `ready` unset means unknown, which Kubernetes says to treat as ready.
    assert!(slice.endpoints[1].ready);
    assert_eq!(slice.endpoints[1].pod, None);

    let events = k.events.as_ref().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].reason, "FailedBuildModel");
    assert_eq!(events[0].count, 14);
    assert!(
        events[0]
            .message
            .contains("requested names [missing-sg] but found []")
    );
    assert_eq!(events[0].involved, ObjKey::new("shop", "storefront"));
    // events.k8s.io/v1 spells it differently: regarding, note, deprecatedCount.
    assert_eq!(
        (events[1].involved_kind.as_str(), events[1].message.as_str()),
        ("Service", "Successfully reconciled")
    );
    assert_eq!(
        events[1].last_timestamp.as_deref(),
        Some("2024-05-02T09:14:41Z")
    );
}

#[test]
fn real_cli_output_loads_the_aws_side() {
    let w = load("real-cli-output.yaml");
    let a = &w.aws;

    let vpcs = a.vpcs.as_ref().unwrap();
    assert_eq!(
        vpcs[0]
            .cidr_blocks
            .iter()
            .map(|b| b.cidr.as_str())
            .collect::<Vec<_>>(),
        ["10.0.0.0/16", "100.64.0.0/16"]
    );
    assert_eq!(
        vpcs[0].ipv6_cidr_blocks[0].state.as_deref(),
        Some("associated")
    );
    assert_eq!(w.vpc_id(), Some("vpc-0f3a9c1d2e4b5a6c7"));
    let subnet = &a.subnets.as_ref().unwrap()["subnet-0aa11bb22cc33dd44"];
    assert_eq!(
        (subnet.cidr.as_str(), subnet.ipv6_cidrs.len()),
        ("10.0.1.0/24", 1)
    );
    assert_eq!(subnet.tags["kubernetes.io/role/elb"], "1");

    let sgs = a.security_groups.as_ref().unwrap();
    assert_eq!(sgs.len(), 3);
    let front = &sgs["sg-0c1d2e3f4a5b6c7d8"];
    assert_eq!(front.name, "web-frontend");
    assert_eq!(front.name_tag(), Some("web-frontend"));
    assert_eq!(front.owner_id.as_deref(), Some("111122223333"));
    // One permission with four sources becomes four rules, in EC2's source order, plus ICMP.
    let rules: Vec<String> = front.ingress.iter().map(|r| r.rule.identity()).collect();
    assert_eq!(
        rules,
        [
            "IpProtocol: tcp, FromPort: 443, ToPort: 443, IpRange: 203.0.113.0/24",
            "IpProtocol: tcp, FromPort: 443, ToPort: 443, IpRange: 198.51.100.0/24",
            "IpProtocol: tcp, FromPort: 443, ToPort: 443, Ipv6Range: 2001:db8:1234::/48",
            "IpProtocol: tcp, FromPort: 443, ToPort: 443, PrefixListId: pl-0a1b2c3d4e5f60718",
            "IpProtocol: icmp, FromPort: 8, ToPort: -1, IpRange: 10.0.0.0/16",
        ]
    );
    let descriptions: Vec<&str> = front
        .ingress
        .iter()
        .map(|r| r.rule.description.as_str())
        .collect();
    assert_eq!(descriptions, ["office", "", "office v6", "office list", ""]);
    // DescribeSecurityGroupRules adds ids and tags to the matching rules only; its rule for
    // 8443 matches nothing loaded and adds nothing.
    let ids: Vec<Option<&str>> = front.ingress.iter().map(|r| r.id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("sgr-0c0c0c0c0c0c0c0c2"),
            None,
            None,
            Some("sgr-0c0c0c0c0c0c0c0c1"),
            None
        ]
    );
    assert_eq!(front.ingress[0].tags, tags(&[("Name", "office-https")]));
    assert_eq!(front.egress.len(), 1);

    let nodes_sg = &sgs["sg-0e1f2a3b4c5d6e7f8"];
    let shared = &nodes_sg.ingress[0];
    assert_eq!(shared.rule.source, Source::Group(s("sg-0b1c2d3e4f5a6b7c8")));
    assert_eq!(
        (shared.rule.from_port, shared.rule.to_port),
        (Some(30000), Some(32767))
    );
    assert_eq!(
        shared.rule.description,
        "elbv2.k8s.aws/targetGroupBinding=shared"
    );
    assert_eq!(shared.id.as_deref(), Some("sgr-0a0a0a0a0a0a0a0a1"));
    assert_eq!(shared.tags, tags(&[("owner", "lbc")]));
    // All traffic: EC2 omits the ports; the rules API prints -1/-1 and still matches.
    let all = &nodes_sg.ingress[1];
    assert!(all.rule.is_all_traffic());
    assert_eq!((all.rule.from_port, all.rule.to_port), (None, None));
    assert_eq!(all.id.as_deref(), Some("sgr-0a0a0a0a0a0a0a0a3"));
    assert_eq!(
        nodes_sg.egress[0].id.as_deref(),
        Some("sgr-0a0a0a0a0a0a0a0a2"),
        "egress matched separately"
    );
    let backend = &sgs["sg-0b1c2d3e4f5a6b7c8"];
    assert!(backend.ingress.is_empty());
    assert_eq!(backend.egress.len(), 2);

    let enis = a.enis.as_ref().unwrap();
    let node_eni = &enis["eni-0a1b2c3d4e5f60718"];
    assert_eq!(node_eni.private_ips, ["10.0.1.23", "10.0.1.71"]);
    assert_eq!(node_eni.ipv4_prefixes, ["10.0.1.96/28"]);
    assert_eq!(
        node_eni.attachment.as_ref().unwrap().instance_id.as_deref(),
        Some("i-0a1b2c3d4e5f60718")
    );
    assert_eq!(
        node_eni.tags["node.k8s.amazonaws.com/instance_id"],
        "i-0a1b2c3d4e5f60718"
    );
    let lb_eni = &enis["eni-0f0e0d0c0b0a09080"];
    assert_eq!(
        lb_eni.interface_type.as_deref(),
        Some("network_load_balancer")
    );
    assert_eq!(
        lb_eni.groups,
        ["sg-0c1d2e3f4a5b6c7d8", "sg-0b1c2d3e4f5a6b7c8"]
    );
    assert_eq!(lb_eni.ipv6_addresses, ["2600:1f18:4c2:e101::1a"]);
    let attachment = lb_eni.attachment.as_ref().unwrap();
    assert_eq!(
        (attachment.instance_id.as_deref(), attachment.device_index),
        (None, Some(1))
    );

    let inst = &a.instances.as_ref().unwrap()["i-0a1b2c3d4e5f60718"];
    assert_eq!(inst.primary_eni(), Some("eni-0a1b2c3d4e5f60718"));
    assert_eq!(inst.enis.len(), 2);
    assert_eq!(inst.state.as_deref(), Some("running"));
    assert_eq!(inst.security_groups, ["sg-0e1f2a3b4c5d6e7f8"]);

    let pls = a.prefix_lists.as_ref().unwrap();
    assert_eq!(pls["pl-0a1b2c3d4e5f60718"].max_entries, Some(10));
    assert_eq!(
        pls["pl-0a1b2c3d4e5f60718"].entries.as_deref(),
        Some(&[s("198.51.100.0/24"), s("203.0.113.128/25")][..])
    );
    assert_eq!(
        pls["pl-63a5400a"].entries, None,
        "entries not fetched: unknown"
    );

    let lbs = a.load_balancers.as_ref().unwrap();
    let nlb = &lbs[WEB_NLB];
    assert!(nlb.is_nlb());
    assert_eq!(
        nlb.security_groups,
        ["sg-0c1d2e3f4a5b6c7d8", "sg-0b1c2d3e4f5a6b7c8"]
    );
    assert_eq!(nlb.enforce_private_link_sg.as_deref(), Some("on"));
    assert_eq!(nlb.subnets, ["subnet-0aa11bb22cc33dd44"]);
    assert_eq!(nlb.state.as_deref(), Some("active"));
    assert_eq!(nlb.tags["service.k8s.aws/stack"], "shop/web");
    let attrs = nlb.attributes.as_ref().unwrap();
    assert_eq!(attrs["load_balancing.cross_zone.enabled"], "false");
    assert_eq!(attrs["access_logs.s3.bucket"], "");
    let legacy = &lbs[LEGACY_NLB];
    assert!(
        legacy.security_groups.is_empty(),
        "an NLB without SecurityGroups"
    );
    assert_eq!(legacy.attributes, None);
    assert!(legacy.tags.is_empty());

    let listeners = a.listeners.as_ref().unwrap();
    let weighted = listeners
        .values()
        .find(|l| l.load_balancer_arn == LEGACY_NLB)
        .unwrap();
    assert_eq!(
        weighted.target_group_arns.len(),
        2,
        "ForwardConfig target groups"
    );
    let plain = listeners
        .values()
        .find(|l| l.load_balancer_arn == WEB_NLB)
        .unwrap();
    assert_eq!((plain.port, plain.protocol.as_str()), (443, "TCP"));
    assert_eq!(
        plain.target_group_arns,
        [WEB_TG],
        "TargetGroupArn and ForwardConfig name one group once"
    );

    let tg = &a.target_groups.as_ref().unwrap()[WEB_TG];
    assert_eq!(
        (tg.port, tg.target_type.as_str()),
        (Some(31443), "instance")
    );
    assert_eq!(tg.health_check_port.as_deref(), Some("traffic-port"));
    assert_eq!(tg.tags["service.k8s.aws/resource"], "shop/web:443");
    let health = &a.target_health.as_ref().unwrap()[WEB_TG];
    assert_eq!(health.len(), 2);
    assert_eq!(health[1].state, "unhealthy");
    assert_eq!(health[1].reason.as_deref(), Some("Target.Timeout"));
}

/// Every malformed fixture, with where it must be reported and what must be said.
const MALFORMED: &[(&str, usize, usize, &str, &str)] = &[
    (
        "wrong-api-version.yaml",
        1,
        13,
        "apiVersion",
        "expected apiVersion lbsg/v1, found \"lbsg/v2\"",
    ),
    (
        "wrong-kind.yaml",
        3,
        7,
        "kind",
        "expected kind World, found \"List\"",
    ),
    (
        "port-out-of-range.yaml",
        21,
        39,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[1].IpPermissions[0].FromPort",
        "expected an integer from 0 to 65535, found 70000",
    ),
    (
        "port-quoted.yaml",
        14,
        15,
        "kubernetes.items[0].spec.ports[0].port",
        "expected an integer from 0 to 65535, found the string \"443\"",
    ),
    (
        "bad-cidr.yaml",
        14,
        21,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[0].IpPermissions[0].IpRanges[1].CidrIp",
        "expected an IPv4 CIDR such as 10.0.0.0/16, found \"10.0.0.300/24\"",
    ),
    (
        "ipv6-in-ipv4-field.yaml",
        13,
        19,
        "aws.ec2.DescribeSecurityGroupRules.SecurityGroupRules[0].CidrIpv4",
        "expected an IPv4 CIDR",
    ),
    (
        "eni-bad-ip.yaml",
        9,
        29,
        "aws.ec2.DescribeNetworkInterfaces.NetworkInterfaces[0].PrivateIpAddresses[0].PrivateIpAddress",
        "expected an IPv4 address, found \"10.0.1.999\"",
    ),
    (
        "duplicate-sg-across-pages.yaml",
        12,
        18,
        "aws.ec2.DescribeSecurityGroups[1].SecurityGroups[0].GroupId",
        "duplicate security group `sg-0aaa0000000000001` (also at aws.ec2.DescribeSecurityGroups[0].SecurityGroups[0].GroupId, line 7)",
    ),
    (
        "duplicate-service.yaml",
        15,
        22,
        "kubernetes.items[2].metadata.name",
        "duplicate Service `shop/web` (also at kubernetes.items[0].metadata.name, line 9)",
    ),
    (
        "duplicate-key.yaml",
        6,
        3,
        "cluster.name",
        "duplicate key `name` (first given at line 4)",
    ),
    (
        "unsupported-ingress-version.yaml",
        5,
        17,
        "kubernetes.items[0].apiVersion",
        "unsupported apiVersion \"extensions/v1beta1\" for Ingress; expected networking.k8s.io/v1",
    ),
    (
        "missing-ip-protocol.yaml",
        9,
        11,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[0].IpPermissions[0].IpProtocol",
        "missing required field `IpProtocol`",
    ),
    (
        "unknown-call.yaml",
        6,
        5,
        "aws.ec2.DescribeSecurityGroup",
        "unknown field `DescribeSecurityGroup`; expected one of: DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,",
    ),
    (
        "bad-controller-arg.yaml",
        6,
        5,
        "controller.args[1]",
        "--enable-backend-security-group=maybe: expected true or false",
    ),
    (
        "list-expected.yaml",
        7,
        9,
        "aws.elbv2.DescribeLoadBalancers.LoadBalancers",
        "expected a list, found a mapping",
    ),
    (
        "is-egress-quoted.yaml",
        8,
        19,
        "aws.ec2.DescribeSecurityGroupRules.SecurityGroupRules[0].IsEgress",
        "expected true or false, found the string \"false\"",
    ),
    (
        "truncated.json",
        11,
        29,
        "aws.ec2.DescribeSecurityGroups.SecurityGroups[0].IpPermissions[0]",
        "`{` is never closed (the file is truncated or a bracket is missing)",
    ),
    (
        "truncated-string.yaml",
        9,
        1,
        "kubernetes.items[0].message",
        "(the file ends early: truncated?)",
    ),
];

#[test]
fn malformed_files_name_file_line_column_path_and_expectation() {
    let dir = Path::new(WORLDS).join("malformed");
    for (file, line, column, path, expected) in MALFORMED {
        let full = dir.join(file);
        let err = load_path(&full).expect_err(file);
        let p = err.problem().unwrap_or_else(|| panic!("{file}: {err}"));
        assert_eq!(
            (p.line, p.column, p.path.as_str()),
            (*line, *column, *path),
            "{file}: {err}"
        );
        assert!(p.message.contains(expected), "{file}: {err}");
        let shown = err.to_string();
        let head = format!("{}:{line}:{column}: {path}: ", full.display());
        assert!(
            shown.starts_with(&head),
            "{shown}\ndoes not start with\n{head}"
        );
    }
    // Every fixture in the directory is checked above.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = MALFORMED.iter().map(|m| m.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// World files to round-trip: every one under tests/worlds/ and the demo world when present.
fn world_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(WORLDS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir("assets/demo") {
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        }));
    }
    files.sort();
    files
}

#[test]
fn every_world_file_round_trips() {
    let files = world_files();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let first = load_path(&path).unwrap_or_else(|e| panic!("{e}"));
        let saved = save_string(&first);
        let second = load_str(&saved, "saved")
            .unwrap_or_else(|e| panic!("{}: {e}\n{saved}", path.display()));
        assert_eq!(first, second, "{}", path.display());
        assert_eq!(
            save_string(&second),
            saved,
            "{}: saving is deterministic",
            path.display()
        );
    }
}

#[test]
fn absent_is_unknown_and_present_but_empty_is_known() {
    let w = load("minimal.yaml");
    assert_eq!(w, World::default());

    let w = load("world.json");
    assert_eq!(w.aws.subnets, Some(BTreeMap::new()));
    assert_eq!(w.aws.security_groups, None);
    assert_eq!(w.aws.enis, None);
    assert_eq!(w.aws.load_balancers, Some(BTreeMap::new()));
    assert_eq!(w.aws.target_health, Some(BTreeMap::new()));
    assert_eq!(w.kube.nodes.as_ref().map(BTreeMap::len), Some(1));
    // Only Nodes were in the dump: Services are unknown, not absent.
    assert_eq!(w.kube.services, None);
    assert!(
        !w.kube
            .nodes
            .as_ref()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .ready
    );
    let inst = &w.aws.instances.as_ref().unwrap()["i-0ccc0000000000001"];
    assert_eq!(inst.private_dns_name.as_deref(), Some(""));
    assert!(
        !w.controller
            .as_ref()
            .unwrap()
            .feature_gates
            .enabled("NLBSecurityGroup")
    );

    // `kubernetes.kinds` says which kinds were listed in full, so none of them means none exist.
    let w = load("paged-and-partial.yaml");
    assert_eq!(w.kube.pods, Some(BTreeMap::new()));
    assert_eq!(w.kube.services.as_ref().map(BTreeMap::len), Some(1));
    assert_eq!(w.kube.nodes, None);
    assert_eq!(w.aws.enis, Some(BTreeMap::new()));

    let err = load_str(
        "apiVersion: lbsg/v1\nkind: World\nkubernetes:\n  kinds: [Sevrice]\n",
        "x",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("x:4:11: kubernetes.kinds[0]: expected one of the kinds"),
        "{err}"
    );
    let err = load_str("", "empty.yaml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("empty.yaml:1:1: the file is empty"),
        "{err}"
    );
}

#[test]
fn pages_controller_deployment_and_v1alpha1_bindings() {
    let w = load("paged-and-partial.yaml");
    assert_eq!(w.cluster.account.as_deref(), Some("444455556666"));
    assert_eq!(w.cluster.name.as_deref(), Some("prod-east"));

    // Pages are concatenated; rule details from two pages of DescribeSecurityGroupRules.
    let sgs = w.aws.security_groups.as_ref().unwrap();
    assert_eq!(sgs.len(), 2);
    let nodes = &sgs["sg-0aaa0000000000001"];
    let sources: Vec<&Source> = nodes.ingress.iter().map(|r| &r.rule.source).collect();
    assert_eq!(
        sources,
        [
            &Source::Group(s("sg-0aaa0000000000002")),
            &Source::Group(s("sg-0aaa0000000000003")),
            &Source::Cidr(s("10.10.0.0/16")),
            &Source::CidrV6(s("2600:1f18:aaaa::/56")),
        ]
    );
    assert_eq!(nodes.ingress[0].rule.description, "from the LB");
    let managed = &sgs["sg-0aaa0000000000002"];
    assert_eq!(
        managed.ingress[1].id.as_deref(),
        Some("sgr-0bbb0000000000001")
    );
    assert_eq!(managed.ingress[1].rule.source, Source::CidrV6(s("::/0")));
    assert_eq!(managed.ingress[0].id, None);
    assert_eq!(managed.ingress[2].rule.protocol, "icmpv6");
    assert_eq!(
        (
            managed.ingress[2].rule.from_port,
            managed.ingress[2].rule.to_port
        ),
        (Some(-1), Some(-1))
    );
    assert_eq!(
        managed.egress[0].id.as_deref(),
        Some("sgr-0bbb0000000000002")
    );

    let arn =
        "arn:aws:elasticloadbalancing:us-east-1:444455556666:targetgroup/api/0000000000000abc";
    let health = &w.aws.target_health.as_ref().unwrap()[arn];
    assert_eq!(
        health.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(),
        ["initial", "draining"]
    );

    // The container named after the LBC, not the first one.
    let c = w.controller.as_ref().unwrap();
    assert_eq!(c.cluster_name, "prod-east");
    assert!(!c.enable_backend_security_group);
    assert!(c.disable_restricted_sg_rules);
    assert_eq!(c.default_target_type, "ip");

    let tgb = &w.kube.target_group_bindings.as_ref().unwrap()[&ObjKey::new("prod", "api-tgb")];
    assert_eq!(tgb.service_port, IntOrString::Str(s("grpc")));
    let rule = &tgb.networking.as_ref().unwrap()[0];
    assert_eq!(
        rule.from,
        [
            NetworkingPeer::SecurityGroup(s("sg-0aaa0000000000002")),
            NetworkingPeer::Empty
        ]
    );
    assert_eq!(rule.ports[0].port, Some(IntOrString::Str(s("grpc"))));
    assert_eq!(
        rule.ports[1],
        NetworkingPort {
            protocol: Some(s("UDP")),
            port: None
        }
    );
}

#[test]
fn controller_args_and_deployment_exclude_each_other() {
    let text = "apiVersion: lbsg/v1\nkind: World\ncontroller:\n  args: [--cluster-name=a]\n  deployment: {apiVersion: apps/v1, kind: Deployment}\n";
    let err = load_str(text, "w").unwrap_err().to_string();
    assert!(
        err.starts_with("w:5:15: controller.deployment: give either"),
        "{err}"
    );
    let text = "apiVersion: lbsg/v1\nkind: World\ncluster: {name: explicit}\ncontroller:\n  args: [--cluster-name=from-args]\n";
    let w = load_str(text, "w").unwrap();
    assert_eq!(w.cluster.name.as_deref(), Some("explicit"));
    assert_eq!(w.controller.unwrap().cluster_name, "from-args");
    let w = load_str("apiVersion: lbsg/v1\nkind: World\ncontroller: {}\n", "w").unwrap();
    assert_eq!(
        w.controller,
        Some(ControllerConfig::default()),
        "present but empty: LBC defaults"
    );
}

/// A world built in code, using values no fixture has, saves and reads back equal.
#[test]
fn a_built_world_round_trips() {
    let meta = |ns: &str, name: &str| Meta {
        namespace: s(ns),
        name: s(name),
        uid: s("u-1"),
        resource_version: s("7"),
        annotations: [
            (s("a/b"), s("true")),
            (s("multi"), s("line one\nline two\n")),
            (s("empty"), s("")),
        ]
        .into(),
        labels: [(s("n"), s("080"))].into(),
        finalizers: vec![s("f")],
        deleting: true,
        annotation_managers: [
            (s("a/b"), vec![s("argocd"), s("helm")]),
            (s("multi"), vec![s("helm")]),
        ]
        .into(),
    };
    let mut w = World {
        cluster: ClusterInfo {
            name: Some(s("c")),
            region: None,
            vpc_id: Some(s("vpc-1")),
            account: Some(s("000011112222")),
        },
        ..World::default()
    };
    let mut cfg = ControllerConfig::from_args(&[s("--cluster-name=c")]).unwrap();
    // Values that did not come from the args (an edit) are written as extra args.
    cfg.enable_manage_backend_security_group_rules = true;
    cfg.feature_gates.0.insert(s("NLBSecurityGroup"), false);
    cfg.default_tags = tags(&[("k", "v")]);
    cfg.origins.insert(
        s("enable-manage-backend-security-group-rules"),
        Origin::Args,
    );
    cfg.origins.insert(s("feature-gates"), Origin::Args);
    cfg.origins.insert(s("default-tags"), Origin::Args);
    w.controller = Some(cfg);

    let svc = Service {
        meta: meta("ns", "svc"),
        spec: ServiceSpec {
            type_: s("NodePort"),
            ports: vec![ServicePort {
                name: None,
                protocol: None,
                port: 0,
                target_port: Some(IntOrString::Str(s("8080"))),
                node_port: None,
            }],
            ..ServiceSpec::default()
        },
        lb_hostnames: vec![s("10.0.0.1"), s("lb.example.com")],
    };
    w.kube.services = Some([(svc.meta.key(), svc)].into());
    w.kube.ingresses = Some(BTreeMap::new());
    w.kube.events = Some(vec![Event {
        meta: meta("ns", "e"),
        count: 3,
        ..Event::default()
    }]);
    let tgb = TargetGroupBinding {
        meta: meta("ns", "t"),
        service_name: s("svc"),
        service_port: IntOrString::Int(80),
        networking: Some(vec![]),
        node_selector: tags(&[("role", "edge")]),
        ..TargetGroupBinding::default()
    };
    w.kube.target_group_bindings = Some([(tgb.meta.key(), tgb)].into());

    let rule =
        |protocol: &str, from: Option<i32>, to: Option<i32>, source: Source, d: &str| SgRule {
            rule: Rule {
                protocol: s(protocol),
                from_port: from,
                to_port: to,
                source,
                description: s(d),
            },
            id: None,
            tags: Tags::new(),
        };
    let mut tagged = rule("tcp", Some(80), Some(80), Source::Cidr(s("10.0.0.0/8")), "");
    tagged.tags = tags(&[("only", "tags")]);
    let mut with_id = rule(
        "tcp",
        Some(80),
        Some(80),
        Source::Cidr(s("10.0.0.0/8")),
        "same identity",
    );
    with_id.id = Some(s("sgr-2"));
    let sg = SecurityGroup {
        id: s("sg-1"),
        ingress: vec![
            rule(
                "tcp",
                Some(80),
                Some(80),
                Source::Group(s("sg-2")),
                "group first",
            ),
            rule(
                "tcp",
                Some(80),
                Some(80),
                Source::Cidr(s("10.1.0.0/16")),
                "",
            ),
            rule("50", None, None, Source::None, ""),
            tagged,
            with_id,
            rule("-1", None, None, Source::PrefixList(s("pl-1")), ""),
        ],
        ..SecurityGroup::default()
    };
    w.aws.security_groups = Some([(s("sg-1"), sg)].into());
    w.aws.vpcs = Some(vec![
        Vpc {
            id: s("vpc-1"),
            ..Vpc::default()
        },
        Vpc {
            id: s("vpc-0"),
            ..Vpc::default()
        },
    ]);
    w.aws.enis = Some(
        [(
            s("eni-1"),
            NetworkInterface {
                id: s("eni-1"),
                attachment: Some(EniAttachment::default()),
                ..NetworkInterface::default()
            },
        )]
        .into(),
    );
    w.aws.prefix_lists = Some(
        [(
            s("pl-1"),
            PrefixList {
                id: s("pl-1"),
                entries: Some(vec![]),
                ..PrefixList::default()
            },
        )]
        .into(),
    );
    let lb = LoadBalancer {
        arn: s("arn:lb"),
        attributes: Some(BTreeMap::new()),
        tags: tags(&[("x", "y")]),
        ..LoadBalancer::default()
    };
    w.aws.load_balancers = Some([(s("arn:lb"), lb)].into());
    let listener = Listener {
        arn: s("arn:l"),
        load_balancer_arn: s("arn:lb"),
        ..Listener::default()
    };
    w.aws.listeners = Some([(s("arn:l"), listener)].into());

    let saved = save_string(&w);
    let mut back = load_str(&saved, "saved").unwrap_or_else(|e| panic!("{e}\n{saved}"));
    // The edited values come back as the args that say them.
    let cfg = back.controller.as_mut().unwrap();
    assert_eq!(
        cfg.args,
        [
            "--cluster-name=c",
            "--enable-manage-backend-security-group-rules=true",
            "--default-tags=k=v",
            "--feature-gates=NLBSecurityGroup=false"
        ]
    );
    cfg.args.truncate(1);
    assert_eq!(back, w, "{saved}");
}

#[test]
fn saving_is_atomic_and_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.yaml");
    let first = load("world.json");
    save_path_atomic(&first, &path).unwrap();
    assert!(
        !dir.path().join("world.yaml.bak").exists(),
        "nothing to keep yet"
    );
    let second = load("paged-and-partial.yaml");
    save_path_atomic(&second, &path).unwrap();
    assert_eq!(load_path(&path).unwrap(), second);
    assert_eq!(
        load_path(&dir.path().join("world.yaml.bak")).unwrap(),
        first
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left behind: {names:?}");
}

#[test]
fn the_kubernetes_section_takes_a_list_an_object_or_a_sequence() {
    let svc = "{apiVersion: v1, kind: Service, metadata: {name: a}}";
    let head = "apiVersion: lbsg/v1\nkind: World\nkubernetes:";
    for body in [
        format!(" {{apiVersion: v1, kind: List, kinds: [Pod], items: [{svc}]}}"),
        format!(" {svc}\n"),
        format!(" [{svc}, {{apiVersion: v1, kind: ServiceList, items: []}}]\n"),
    ] {
        let w = load_str(&format!("{head}{body}"), "w").unwrap_or_else(|e| panic!("{body}: {e}"));
        let services = w.kube.services.unwrap();
        assert_eq!(
            services.keys().next(),
            Some(&ObjKey::new("default", "a")),
            "{body}"
        );
    }
    let w = load_str(&format!("{head} {{}}\n"), "w").unwrap();
    assert_eq!(w.kube, KubeSide::default(), "nothing listed: nothing known");
    let err = load_str(&format!("{head} [{{metadata: {{name: a}}}}]\n"), "w").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("w:3:14: kubernetes[0].kind: missing required field `kind`"),
        "{err}"
    );
}

#[test]
fn a_deployment_with_the_charts_name_is_the_controller_even_with_a_renamed_container() {
    let text = "apiVersion: lbsg/v1\nkind: World\nkubernetes:\n  items:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: other, namespace: x}\n    spec: {template: {spec: {containers: [{name: c, image: x, args: [--cluster-name=wrong]}]}}}\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: aws-load-balancer-controller, namespace: kube-system}\n    spec: {template: {spec: {containers: [{name: controller, image: registry.internal/alb:v2.8.1, args: [--cluster-name=mirror]}]}}}\n";
    let w = load_str(text, "w").unwrap();
    assert_eq!(w.controller.unwrap().cluster_name, "mirror");
    assert_eq!(w.cluster.name.as_deref(), Some("mirror"));
}
