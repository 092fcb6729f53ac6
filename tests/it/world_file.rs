//! World files: real kubectl / AWS CLI output loads unchanged, malformed files are rejected with
//! position, field path and expectation, and every world saves and reads back equal.

use std::path::Path;

use lbsg::world::file::load_path;
use lbsg::world::*;

pub(crate) const WORLDS: &str = "tests/worlds";

pub(crate) fn load(name: &str) -> World {
    let path = Path::new(WORLDS).join(name);
    load_path(&path).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn s(v: &str) -> String {
    v.to_string()
}

pub(crate) fn tags(pairs: &[(&str, &str)]) -> Tags {
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
