//! A small world for the TUI's tests, shaped like the demo world: a healthy internet NLB
//! (`default/web`), a custom-SG NLB whose targets are unreachable (`billing/invoices`, D07), a
//! Service whose custom SG name does not resolve (`search/search-api`, D14, no LB) and an ALB
//! Ingress with ip targets (`shop/storefront`). Findings are supplied by hand, as the audit
//! would report them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core::plan::{Edit, ResourceRef};
use crate::world::*;

use super::action::Loaded;
use super::bridge;
use super::config::UiConfig;
use super::model::{self, Analysis, Finding, Remedy, Severity};
use super::source::SourceInfo;
use super::state::State;

pub const ACCOUNT: &str = "111122223333";
pub const WEB_LB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/k8s-default-web-5d3dbb718c/5a262d475dc04173";
pub const INV_LB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/k8s-billing-invoices-e1b8b99b84/324e99737e0fe1b4";
pub const SHOP_LB: &str = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/k8s-shop-storefro-2d7e1a0f3c/0a1b2c3d4e5f6a7b";
pub const MANAGE: &str =
    "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules";

fn tags(kv: &[(&str, &str)]) -> Tags {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn meta(ns: &str, name: &str, ann: &[(&str, &str)]) -> Meta {
    Meta {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{ns}-{name}"),
        resource_version: "100".into(),
        annotations: tags(ann),
        ..Default::default()
    }
}

fn sg(id: &str, name: &str, t: &[(&str, &str)], rules: Vec<Rule>) -> (String, SecurityGroup) {
    (
        id.to_string(),
        SecurityGroup {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            vpc_id: Some("vpc-0demo".into()),
            owner_id: Some(ACCOUNT.into()),
            tags: tags(t),
            ingress: rules
                .into_iter()
                .map(|rule| SgRule {
                    rule,
                    id: None,
                    tags: BTreeMap::new(),
                })
                .collect(),
            egress: Vec::new(),
        },
    )
}

fn svc(ns: &str, name: &str, ann: &[(&str, &str)], port: i32, node_port: i32) -> (ObjKey, Service) {
    (
        ObjKey::new(ns, name),
        Service {
            meta: meta(ns, name, ann),
            spec: ServiceSpec {
                type_: "LoadBalancer".into(),
                load_balancer_class: Some("service.k8s.aws/nlb".into()),
                ports: vec![ServicePort {
                    name: None,
                    protocol: Some("TCP".into()),
                    port,
                    target_port: Some(IntOrString::Int(8080)),
                    node_port: Some(node_port),
                }],
                ..Default::default()
            },
            lb_hostnames: Vec::new(),
        },
    )
}

fn lb(
    arn: &str,
    name: &str,
    type_: &str,
    scheme: &str,
    sgs: &[&str],
    stack: (&str, &str),
) -> (String, LoadBalancer) {
    (
        arn.to_string(),
        LoadBalancer {
            arn: arn.into(),
            name: name.into(),
            dns_name: format!("{name}.elb.us-east-1.amazonaws.com"),
            type_: type_.into(),
            scheme: scheme.into(),
            ip_address_type: "ipv4".into(),
            vpc_id: Some("vpc-0demo".into()),
            security_groups: sgs.iter().map(|s| s.to_string()).collect(),
            subnets: vec!["subnet-0use1a".into(), "subnet-0use1b".into()],
            state: Some("active".into()),
            enforce_private_link_sg: None,
            tags: tags(&[("elbv2.k8s.aws/cluster", "demo"), stack]),
            attributes: None,
        },
    )
}

fn listener(lb: &str, port: i32, proto: &str, tg: &str) -> (String, Listener) {
    let arn = format!("{lb}/listener/{port}");
    (
        arn.clone(),
        Listener {
            arn,
            load_balancer_arn: lb.into(),
            port,
            protocol: proto.into(),
            target_group_arns: vec![tg.into()],
        },
    )
}

fn tg(
    arn: &str,
    name: &str,
    lb: &str,
    proto: &str,
    port: i32,
    kind: &str,
) -> (String, TargetGroup) {
    (
        arn.to_string(),
        TargetGroup {
            arn: arn.into(),
            name: name.into(),
            protocol: Some(proto.into()),
            port: Some(port),
            target_type: kind.into(),
            vpc_id: Some("vpc-0demo".into()),
            load_balancer_arns: vec![lb.into()],
            health_check_port: Some("traffic-port".into()),
            ..Default::default()
        },
    )
}

fn health(id: &str, port: i32, state: &str, reason: Option<&str>) -> TargetHealth {
    TargetHealth {
        id: id.into(),
        port: Some(port),
        state: state.into(),
        reason: reason.map(String::from),
        ..Default::default()
    }
}

fn node(name: &str, instance: &str, ip: &str) -> (String, Node) {
    (
        name.to_string(),
        Node {
            meta: meta("", name, &[]),
            provider_id: Some(format!("aws:///us-east-1a/{instance}")),
            internal_ips: vec![ip.into()],
            taints: Vec::new(),
            ready: true,
        },
    )
}

fn eni(id: &str, instance: &str, ips: &[&str]) -> (String, NetworkInterface) {
    (
        id.to_string(),
        NetworkInterface {
            id: id.into(),
            subnet_id: Some("subnet-0use1a".into()),
            vpc_id: Some("vpc-0demo".into()),
            groups: vec!["sg-0nodes".into()],
            private_ips: ips.iter().map(|s| s.to_string()).collect(),
            attachment: Some(EniAttachment {
                instance_id: Some(instance.into()),
                device_index: Some(0),
            }),
            ..Default::default()
        },
    )
}

pub fn world() -> World {
    let shared = "elbv2.k8s.aws/targetGroupBinding=shared";
    let mut w = World {
        cluster: ClusterInfo {
            name: Some("demo".into()),
            region: Some("us-east-1".into()),
            vpc_id: Some("vpc-0demo".into()),
            account: Some(ACCOUNT.into()),
        },
        controller: Some(ControllerConfig {
            cluster_name: "demo".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    w.kube.services = Some(BTreeMap::from([
        svc("default", "web", &[], 443, 30443),
        svc(
            "billing",
            "invoices",
            &[(
                "service.beta.kubernetes.io/aws-load-balancer-security-groups",
                "sg-0invoiceslb",
            )],
            443,
            30643,
        ),
        svc(
            "search",
            "search-api",
            &[(
                "service.beta.kubernetes.io/aws-load-balancer-security-groups",
                "search-frontend",
            )],
            80,
            31080,
        ),
    ]));
    w.kube.ingresses = Some(BTreeMap::from([(
        ObjKey::new("shop", "storefront"),
        Ingress {
            meta: meta("shop", "storefront", &[]),
            ingress_class_name: Some("alb".into()),
            ..Default::default()
        },
    )]));
    w.kube.nodes = Some(BTreeMap::from([
        node("ip-10-0-12-34.ec2.internal", "i-0node1", "10.0.12.34"),
        node("ip-10-0-45-67.ec2.internal", "i-0node2", "10.0.45.67"),
    ]));
    w.kube.pods = Some(BTreeMap::from([(
        ObjKey::new("shop", "storefront-7d9f"),
        Pod {
            meta: meta("shop", "storefront-7d9f", &[]),
            node_name: Some("ip-10-0-12-34.ec2.internal".into()),
            pod_ips: vec!["10.0.12.101".into()],
            ports: Vec::new(),
            ready: true,
        },
    )]));
    w.kube.events = Some(vec![Event {
        meta: meta("search", "search-api.1", &[]),
        involved_kind: "Service".into(),
        involved: ObjKey::new("search", "search-api"),
        reason: "FailedBuildModel".into(),
        message: "Failed build model due to couldn't find all security groups: requested names [search-frontend] but found []".into(),
        type_: "Warning".into(),
        count: 3,
        last_timestamp: None,
    }]);
    w.aws.subnets = Some(BTreeMap::from([
        (
            "subnet-0use1a".to_string(),
            Subnet {
                id: "subnet-0use1a".into(),
                vpc_id: "vpc-0demo".into(),
                cidr: "10.0.0.0/19".into(),
                ..Default::default()
            },
        ),
        (
            "subnet-0use1b".to_string(),
            Subnet {
                id: "subnet-0use1b".into(),
                vpc_id: "vpc-0demo".into(),
                cidr: "10.0.32.0/19".into(),
                ..Default::default()
            },
        ),
    ]));
    w.aws.security_groups = Some(BTreeMap::from([
        sg(
            "sg-0backend",
            "k8s-traffic-demo-2a97516c35",
            &[
                ("elbv2.k8s.aws/cluster", "demo"),
                ("elbv2.k8s.aws/resource", "backend-sg"),
            ],
            vec![],
        ),
        sg(
            "sg-0nodes",
            "eks-nodes",
            &[("kubernetes.io/cluster/demo", "owned")],
            vec![
                Rule::new(
                    "tcp",
                    5514,
                    32443,
                    Source::Group("sg-0backend".into()),
                    shared,
                ),
                Rule::new(
                    "tcp",
                    22,
                    22,
                    Source::Group("sg-0bastion".into()),
                    "ssh from bastion",
                ),
            ],
        ),
        sg(
            "sg-0web",
            "k8s-default-web-c619aa9f16",
            &[
                ("elbv2.k8s.aws/cluster", "demo"),
                ("service.k8s.aws/stack", "default/web"),
            ],
            vec![Rule::new(
                "tcp",
                443,
                443,
                Source::Cidr("0.0.0.0/0".into()),
                "",
            )],
        ),
        sg(
            "sg-0invoiceslb",
            "invoices-lb",
            &[("Name", "invoices-lb")],
            vec![Rule::new(
                "tcp",
                443,
                443,
                Source::Cidr("10.0.0.0/8".into()),
                "internal clients",
            )],
        ),
        sg("sg-0searchfe", "search-frontend", &[], vec![]),
        sg(
            "sg-0bastion",
            "bastion",
            &[("Name", "bastion")],
            vec![Rule::new(
                "tcp",
                22,
                22,
                Source::Cidr("198.51.100.0/24".into()),
                "office",
            )],
        ),
        sg(
            "sg-0storefront",
            "k8s-shop-storefro-eed4a93487",
            &[
                ("elbv2.k8s.aws/cluster", "demo"),
                ("ingress.k8s.aws/stack", "shop/storefront"),
            ],
            vec![Rule::new(
                "tcp",
                80,
                80,
                Source::Cidr("0.0.0.0/0".into()),
                "",
            )],
        ),
    ]));
    w.aws.enis = Some(BTreeMap::from([
        eni("eni-0node1", "i-0node1", &["10.0.12.34", "10.0.12.101"]),
        eni("eni-0node2", "i-0node2", &["10.0.45.67"]),
    ]));
    w.aws.instances = Some(BTreeMap::new());
    w.aws.load_balancers = Some(BTreeMap::from([
        lb(
            WEB_LB,
            "k8s-default-web-5d3dbb718c",
            "network",
            "internet-facing",
            &["sg-0web", "sg-0backend"],
            ("service.k8s.aws/stack", "default/web"),
        ),
        lb(
            INV_LB,
            "k8s-billing-invoices-e1b8b99b84",
            "network",
            "internal",
            &["sg-0invoiceslb"],
            ("service.k8s.aws/stack", "billing/invoices"),
        ),
        lb(
            SHOP_LB,
            "k8s-shop-storefro-2d7e1a0f3c",
            "application",
            "internet-facing",
            &["sg-0storefront", "sg-0backend"],
            ("ingress.k8s.aws/stack", "shop/storefront"),
        ),
    ]));
    let web_tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-default-web-0f1e2d3c4b/1111";
    let inv_tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-billing-invoices-9a8b7c6d5e/2222";
    let shop_tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/k8s-shop-storefro-7f8d32891d/3333";
    w.aws.listeners = Some(BTreeMap::from([
        listener(WEB_LB, 443, "TCP", web_tg),
        listener(INV_LB, 443, "TCP", inv_tg),
        listener(SHOP_LB, 80, "HTTP", shop_tg),
    ]));
    w.aws.target_groups = Some(BTreeMap::from([
        tg(
            web_tg,
            "k8s-default-web-0f1e2d3c4b",
            WEB_LB,
            "TCP",
            30443,
            "instance",
        ),
        tg(
            inv_tg,
            "k8s-billing-invoices-9a8b7c6d5e",
            INV_LB,
            "TCP",
            30643,
            "instance",
        ),
        tg(
            shop_tg,
            "k8s-shop-storefro-7f8d32891d",
            SHOP_LB,
            "HTTP",
            8080,
            "ip",
        ),
    ]));
    w.aws.target_health = Some(BTreeMap::from([
        (
            web_tg.to_string(),
            vec![
                health("i-0node1", 30443, "healthy", None),
                health("i-0node2", 30443, "healthy", None),
            ],
        ),
        (
            inv_tg.to_string(),
            vec![
                health(
                    "i-0node1",
                    30643,
                    "unhealthy",
                    Some("Target.FailedHealthChecks"),
                ),
                health(
                    "i-0node2",
                    30643,
                    "unhealthy",
                    Some("Target.FailedHealthChecks"),
                ),
            ],
        ),
        (
            shop_tg.to_string(),
            vec![health("10.0.12.101", 8080, "healthy", None)],
        ),
    ]));
    w
}

/// Findings the audit would report on [`world`].
pub fn findings() -> Vec<Finding> {
    let invoices = ResourceRef::Service(ObjKey::new("billing", "invoices"));
    vec![
        Finding {
            id: "D07".into(),
            severity: Severity::High,
            title: "Custom frontend SG, backend rules not managed: targets unreachable".into(),
            resource: invoices.to_string(),
            evidence: vec![
                "no rule on sg-0nodes admits sg-0invoiceslb or sg-0backend on tcp/30643".into(),
            ],
            remedy: Some(Remedy {
                summary: "set manage-backend-security-group-rules to true".into(),
                edit: Some(Edit::Annotations {
                    resource: invoices,
                    set: BTreeMap::from([(MANAGE.to_string(), "true".to_string())]),
                    unset: Vec::new(),
                }),
            }),
        },
        Finding {
            id: "D14".into(),
            severity: Severity::High,
            title: "Custom SG name does not resolve: no load balancer".into(),
            resource: "service/search/search-api".into(),
            evidence: vec!["sg-0searchfe has GroupName search-frontend but no Name tag".into()],
            remedy: Some(Remedy {
                summary: "tag sg-0searchfe Name=search-frontend, or use its id".into(),
                edit: None,
            }),
        },
        Finding {
            id: "X01".into(),
            severity: Severity::Medium,
            title: "Internet-facing load balancer open to 0.0.0.0/0".into(),
            resource: "service/default/web".into(),
            evidence: vec!["sg-0web admits 0.0.0.0/0 on tcp/443".into()],
            remedy: None,
        },
    ]
}

/// A fixed clock for reproducible screens: 2025-06-02 14:55:10Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_748_876_110)
}

pub fn loaded(w: World, with_findings: bool) -> Loaded {
    let mut analysis: Analysis = bridge::analyse(&w);
    if with_findings {
        analysis.findings = Some(findings());
    }
    let data = model::build(&w, &analysis);
    Loaded {
        world: Arc::new(w),
        data: Arc::new(data),
        at: now(),
    }
}

pub fn info() -> SourceInfo {
    SourceInfo {
        kind: "demo",
        context: "demo".into(),
        feeds: vec!["world"],
        sink: "memory only (demo)".into(),
    }
}

/// A state with [`world`] loaded, sized `w`×`h`.
pub fn state(width: u16, height: u16, readonly: bool) -> State {
    let mut s = State::new(Arc::new(UiConfig::default()), info(), readonly, now());
    s.width = width;
    s.height = height;
    super::update::install(&mut s, loaded(world(), true));
    s
}
