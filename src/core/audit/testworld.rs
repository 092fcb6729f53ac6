//! A minimal healthy world, built in code, that each check's tests bend into the one situation
//! the check looks for: cluster `c` in `vpc-1` (10.0.0.0/16), one node `i-1`/`eni-1` with
//! `sg-node`, the backend SG `sg-backend`, and Service `default/web` behind an internet-facing
//! SG-mode NLB (managed SG `sg-web`, tcp/443 from 0.0.0.0/0, NodePort 31443).

use std::collections::BTreeMap;

use super::{Audit, Finding, audit};
use crate::core::lbc::model::StackId;
use crate::world::*;

pub const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/web/1";
pub const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1";
pub const SHARED: &str = "elbv2.k8s.aws/targetGroupBinding=shared";

fn tags(kv: &[(&str, &str)]) -> Tags {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn sg(id: &str, kv: &[(&str, &str)], ingress: Vec<Rule>) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        name: id.into(),
        vpc_id: Some("vpc-1".into()),
        tags: tags(kv),
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

pub fn tcp(port: i32, source: &str) -> Rule {
    Rule::new("tcp", port, port, Source::parse_token(source), "")
}

pub fn tcp_range(from: i32, to: i32, source: &str, description: &str) -> Rule {
    Rule::new("tcp", from, to, Source::parse_token(source), description)
}

/// The healthy world. Its audit has no finding (tested below).
pub fn world() -> World {
    let mut w = World::default();
    w.cluster.name = Some("c".into());
    w.cluster.vpc_id = Some("vpc-1".into());
    w.controller = Some(ControllerConfig {
        cluster_name: "c".into(),
        ..ControllerConfig::default()
    });

    let mut svc = Service {
        meta: Meta {
            namespace: "default".into(),
            name: "web".into(),
            uid: "u-web".into(),
            ..Meta::default()
        },
        ..Service::default()
    };
    svc.spec.type_ = "LoadBalancer".into();
    svc.spec.load_balancer_class = Some("service.k8s.aws/nlb".into());
    svc.spec.ports = vec![ServicePort {
        name: None,
        protocol: Some("TCP".into()),
        port: 443,
        target_port: Some(IntOrString::Int(8443)),
        node_port: Some(31443),
    }];
    set_ann(&mut svc, "aws-load-balancer-nlb-target-type", "instance");
    set_ann(&mut svc, "aws-load-balancer-scheme", "internet-facing");
    w.kube.services = Some(BTreeMap::from([(svc.meta.key(), svc)]));

    let node = Node {
        meta: Meta {
            name: "n1".into(),
            ..Meta::default()
        },
        provider_id: Some("aws:///us-east-1a/i-1".into()),
        internal_ips: vec!["10.0.0.10".into()],
        taints: vec![],
        ready: true,
    };
    w.kube.nodes = Some(BTreeMap::from([("n1".to_string(), node)]));
    w.kube.pods = Some(BTreeMap::new());
    w.kube.endpoint_slices = Some(BTreeMap::new());
    w.kube.ingresses = Some(BTreeMap::new());
    w.kube.events = Some(Vec::new());

    let mut tgb = TargetGroupBinding {
        meta: Meta {
            namespace: "default".into(),
            name: "k8s-default-web".into(),
            labels: StackId::Service(ObjKey::new("default", "web")).labels(),
            ..Meta::default()
        },
        target_group_arn: TG.into(),
        target_type: Some("instance".into()),
        service_name: "web".into(),
        service_port: IntOrString::Int(443),
        ..TargetGroupBinding::default()
    };
    tgb.networking = Some(vec![NetworkingRule {
        from: vec![NetworkingPeer::SecurityGroup("sg-backend".into())],
        ports: vec![NetworkingPort {
            protocol: Some("TCP".into()),
            port: Some(IntOrString::Int(31443)),
        }],
    }]);
    w.kube.target_group_bindings = Some(BTreeMap::from([(tgb.meta.key(), tgb)]));

    w.aws.vpcs = Some(vec![Vpc {
        id: "vpc-1".into(),
        cidr_blocks: vec![CidrBlock {
            cidr: "10.0.0.0/16".into(),
            state: Some("associated".into()),
        }],
        ..Vpc::default()
    }]);
    w.aws.subnets = Some(BTreeMap::from([(
        "subnet-a".to_string(),
        Subnet {
            id: "subnet-a".into(),
            vpc_id: "vpc-1".into(),
            cidr: "10.0.0.0/24".into(),
            ..Subnet::default()
        },
    )]));
    let sgs = [
        sg(
            "sg-backend",
            &[
                ("elbv2.k8s.aws/cluster", "c"),
                ("elbv2.k8s.aws/resource", "backend-sg"),
            ],
            vec![],
        ),
        sg(
            "sg-web",
            &[
                ("elbv2.k8s.aws/cluster", "c"),
                ("service.k8s.aws/resource", "ManagedLBSecurityGroup"),
                ("service.k8s.aws/stack", "default/web"),
            ],
            vec![tcp(443, "0.0.0.0/0")],
        ),
        sg(
            "sg-node",
            &[("kubernetes.io/cluster/c", "owned")],
            vec![tcp_range(31443, 31443, "sg-backend", SHARED)],
        ),
    ];
    w.aws.security_groups = Some(sgs.into_iter().map(|s| (s.id.clone(), s)).collect());
    w.aws.prefix_lists = Some(BTreeMap::new());
    w.aws.enis = Some(BTreeMap::from([(
        "eni-1".to_string(),
        NetworkInterface {
            id: "eni-1".into(),
            subnet_id: Some("subnet-a".into()),
            vpc_id: Some("vpc-1".into()),
            groups: vec!["sg-node".into()],
            private_ips: vec!["10.0.0.10".into()],
            attachment: Some(EniAttachment {
                instance_id: Some("i-1".into()),
                device_index: Some(0),
            }),
            ..NetworkInterface::default()
        },
    )]));
    w.aws.instances = Some(BTreeMap::from([(
        "i-1".to_string(),
        Instance {
            id: "i-1".into(),
            private_ip: Some("10.0.0.10".into()),
            vpc_id: Some("vpc-1".into()),
            enis: vec![InstanceEni {
                id: "eni-1".into(),
                device_index: 0,
            }],
            security_groups: vec!["sg-node".into()],
            ..Instance::default()
        },
    )]));
    w.aws.load_balancers = Some(BTreeMap::from([(
        LB.to_string(),
        LoadBalancer {
            arn: LB.into(),
            name: "k8s-default-web".into(),
            dns_name: "web.elb.example".into(),
            type_: "network".into(),
            scheme: "internet-facing".into(),
            ip_address_type: "ipv4".into(),
            vpc_id: Some("vpc-1".into()),
            security_groups: vec!["sg-web".into(), "sg-backend".into()],
            subnets: vec!["subnet-a".into()],
            tags: tags(&[
                ("elbv2.k8s.aws/cluster", "c"),
                ("service.k8s.aws/stack", "default/web"),
            ]),
            ..LoadBalancer::default()
        },
    )]));
    w.aws.listeners = Some(BTreeMap::from([(
        "l-1".to_string(),
        Listener {
            arn: "l-1".into(),
            load_balancer_arn: LB.into(),
            port: 443,
            protocol: "TCP".into(),
            target_group_arns: vec![TG.into()],
        },
    )]));
    w.aws.target_groups = Some(BTreeMap::from([(
        TG.to_string(),
        TargetGroup {
            arn: TG.into(),
            name: "k8s-default-web".into(),
            protocol: Some("TCP".into()),
            port: Some(31443),
            target_type: "instance".into(),
            load_balancer_arns: vec![LB.into()],
            health_check_port: Some("traffic-port".into()),
            ..TargetGroup::default()
        },
    )]));
    w.aws.target_health = Some(BTreeMap::from([(
        TG.to_string(),
        vec![TargetHealth {
            id: "i-1".into(),
            port: Some(31443),
            state: "healthy".into(),
            ..TargetHealth::default()
        }],
    )]));
    w
}

pub fn set_ann(svc: &mut Service, suffix: &str, value: &str) {
    svc.meta.annotations.insert(
        format!("service.beta.kubernetes.io/{suffix}"),
        value.to_string(),
    );
}

pub fn web(w: &mut World) -> &mut Service {
    w.kube
        .services
        .as_mut()
        .and_then(|m| m.get_mut(&ObjKey::new("default", "web")))
        .expect("the test world has default/web")
}

pub fn sg_mut<'a>(w: &'a mut World, id: &str) -> &'a mut SecurityGroup {
    w.aws
        .security_groups
        .as_mut()
        .and_then(|m| m.get_mut(id))
        .expect("SG in the test world")
}

pub fn lb_mut(w: &mut World) -> &mut LoadBalancer {
    w.aws
        .load_balancers
        .as_mut()
        .and_then(|m| m.get_mut(LB))
        .expect("LB in the test world")
}

pub fn add_sg(w: &mut World, s: SecurityGroup) {
    w.aws
        .security_groups
        .get_or_insert_with(BTreeMap::new)
        .insert(s.id.clone(), s);
}

/// Findings of one id.
pub fn with_id(a: &Audit, id: &str) -> Vec<Finding> {
    a.findings.iter().filter(|f| f.id == id).cloned().collect()
}

/// Run the audit and return the findings of `id`.
pub fn findings(w: &World, id: &str) -> Vec<Finding> {
    with_id(&audit(w), id)
}

#[test]
fn the_baseline_world_is_healthy() {
    let w = world();
    let drift = crate::core::plan::drift(&w);
    assert!(drift.changes.is_empty(), "{drift:#?}");
    assert!(drift.errors.is_empty(), "{drift:#?}");
    let a = audit(&w);
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    assert_eq!(a.exposure.len(), 1);
    let e = &a.exposure[0];
    assert_eq!(e.resource, "service/default/web");
    assert_eq!(e.listener, "tcp/443");
    assert_eq!(e.sources, vec!["0.0.0.0/0".to_string()]);
    assert!(e.internet);
    assert_eq!((e.targets.reachable, e.targets.blocked), (1, 0));
    assert_eq!(e.targets.ports, vec!["tcp/31443".to_string()]);
}
