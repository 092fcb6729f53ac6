//! Small hand-built worlds for tests: one VPC, two subnets, two nodes with a node SG, and
//! helpers to add LBs, listeners, target groups and Services.

use std::collections::BTreeMap;

use crate::world::*;

pub const VPC: &str = "vpc-0t";
pub const NODE_SG: &str = "sg-0node";
pub const BACKEND_SG: &str = "sg-0backend";
pub const SUBNETS: [(&str, &str, &str); 2] = [
    ("subnet-0a", "10.0.0.0/24", "2600:1f18::/64"),
    ("subnet-0b", "10.0.1.0/24", "2600:1f18:0:1::/64"),
];

pub fn rule(proto: &str, from: i32, to: i32, src: &str) -> SgRule {
    SgRule {
        rule: Rule::new(proto, from, to, Source::parse_token(src), ""),
        id: None,
        tags: Tags::new(),
    }
}

pub fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A cluster `t` with nodes `i-0n1` (10.0.0.10) and `i-0n2` (10.0.1.10), both only in
/// [`NODE_SG`], and the backend SG (no inbound rules).
pub fn base() -> World {
    let mut w = World::default();
    w.cluster.name = Some("t".into());
    w.cluster.vpc_id = Some(VPC.into());
    w.aws.vpcs = Some(vec![Vpc {
        id: VPC.into(),
        cidr_blocks: vec![CidrBlock {
            cidr: "10.0.0.0/16".into(),
            state: Some("associated".into()),
        }],
        ipv6_cidr_blocks: vec![CidrBlock {
            cidr: "2600:1f18::/56".into(),
            state: Some("associated".into()),
        }],
        tags: Tags::new(),
    }]);
    w.aws.subnets = Some(
        SUBNETS
            .iter()
            .map(|(id, v4, v6)| {
                (
                    id.to_string(),
                    Subnet {
                        id: id.to_string(),
                        vpc_id: VPC.into(),
                        cidr: v4.to_string(),
                        ipv6_cidrs: vec![v6.to_string()],
                        ..Default::default()
                    },
                )
            })
            .collect(),
    );
    w.aws.security_groups = Some(BTreeMap::new());
    add_sg(&mut w, NODE_SG, &[rule("-1", -1, -1, NODE_SG)]);
    add_sg(&mut w, BACKEND_SG, &[]);
    if let Some(sg) = sgs(&mut w).get_mut(BACKEND_SG) {
        sg.tags = tags(&[
            ("elbv2.k8s.aws/cluster", "t"),
            ("elbv2.k8s.aws/resource", "backend-sg"),
        ]);
    }
    w.aws.enis = Some(BTreeMap::new());
    w.aws.instances = Some(BTreeMap::new());
    w.kube.nodes = Some(BTreeMap::new());
    add_node(&mut w, "i-0n1", "10.0.0.10", &[NODE_SG]);
    add_node(&mut w, "i-0n2", "10.0.1.10", &[NODE_SG]);
    w.aws.load_balancers = Some(BTreeMap::new());
    w.aws.listeners = Some(BTreeMap::new());
    w.aws.target_groups = Some(BTreeMap::new());
    w.aws.target_health = Some(BTreeMap::new());
    w.kube.services = Some(BTreeMap::new());
    w.kube.ingresses = Some(BTreeMap::new());
    w
}

pub fn sgs(w: &mut World) -> &mut BTreeMap<String, SecurityGroup> {
    w.aws.security_groups.get_or_insert_with(BTreeMap::new)
}

pub fn add_sg(w: &mut World, id: &str, ingress: &[SgRule]) {
    sgs(w).insert(
        id.into(),
        SecurityGroup {
            id: id.into(),
            name: id.into(),
            vpc_id: Some(VPC.into()),
            ingress: ingress.to_vec(),
            ..Default::default()
        },
    );
}

pub fn add_rule(w: &mut World, sg: &str, r: SgRule) {
    if let Some(g) = sgs(w).get_mut(sg) {
        g.ingress.push(r);
    }
}

/// A node: instance, primary ENI `eni-<instance>` holding `ip`, and the Kubernetes Node.
pub fn add_node(w: &mut World, instance: &str, ip: &str, groups: &[&str]) {
    let eni = format!("eni-{}", instance.trim_start_matches("i-"));
    let subnet = if ip.starts_with("10.0.0.") {
        "subnet-0a"
    } else {
        "subnet-0b"
    };
    w.aws.enis.get_or_insert_with(BTreeMap::new).insert(
        eni.clone(),
        NetworkInterface {
            id: eni.clone(),
            subnet_id: Some(subnet.into()),
            vpc_id: Some(VPC.into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            private_ips: vec![ip.into()],
            attachment: Some(EniAttachment {
                instance_id: Some(instance.into()),
                device_index: Some(0),
            }),
            ..Default::default()
        },
    );
    w.aws.instances.get_or_insert_with(BTreeMap::new).insert(
        instance.into(),
        Instance {
            id: instance.into(),
            private_ip: Some(ip.into()),
            enis: vec![InstanceEni {
                id: eni,
                device_index: 0,
            }],
            security_groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        },
    );
    let name = format!("node-{}", instance.trim_start_matches("i-"));
    w.kube.nodes.get_or_insert_with(BTreeMap::new).insert(
        name.clone(),
        Node {
            meta: Meta {
                name,
                ..Default::default()
            },
            provider_id: Some(format!("aws:///us-east-1a/{instance}")),
            internal_ips: vec![ip.into()],
            ready: true,
            ..Default::default()
        },
    );
}

pub fn lb_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/{name}/1")
}

pub fn tg_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{name}/1")
}

/// An NLB (or ALB with `type_ = "application"`) owned by Service `ns/name` through the LBC tags.
pub fn add_lb(
    w: &mut World,
    name: &str,
    type_: &str,
    scheme: &str,
    sgs: &[&str],
    stack: &str,
) -> String {
    let arn = lb_arn(name);
    let stack_tag = if type_ == "application" {
        "ingress.k8s.aws/stack"
    } else {
        "service.k8s.aws/stack"
    };
    w.aws
        .load_balancers
        .get_or_insert_with(BTreeMap::new)
        .insert(
            arn.clone(),
            LoadBalancer {
                arn: arn.clone(),
                name: name.into(),
                dns_name: format!("{name}.elb.us-east-1.amazonaws.com"),
                type_: type_.into(),
                scheme: scheme.into(),
                ip_address_type: "ipv4".into(),
                vpc_id: Some(VPC.into()),
                security_groups: sgs.iter().map(|s| s.to_string()).collect(),
                subnets: SUBNETS.iter().map(|s| s.0.to_string()).collect(),
                tags: tags(&[("elbv2.k8s.aws/cluster", "t"), (stack_tag, stack)]),
                ..Default::default()
            },
        );
    arn
}

pub fn add_listener(w: &mut World, lb: &str, port: i32, protocol: &str, tgs: &[&str]) -> String {
    let arn = format!(
        "{}/listener-{port}",
        lb.replace(":loadbalancer/", ":listener/")
    );
    w.aws.listeners.get_or_insert_with(BTreeMap::new).insert(
        arn.clone(),
        Listener {
            arn: arn.clone(),
            load_balancer_arn: lb.into(),
            port,
            protocol: protocol.into(),
            target_group_arns: tgs.iter().map(|s| s.to_string()).collect(),
        },
    );
    arn
}

/// A TG with `targets` (id, port) registered and healthy; `targets = None` leaves health unloaded.
pub fn add_tg(
    w: &mut World,
    name: &str,
    lb: &str,
    target_type: &str,
    protocol: &str,
    port: i32,
    targets: Option<&[(&str, i32)]>,
) -> String {
    let arn = tg_arn(name);
    w.aws
        .target_groups
        .get_or_insert_with(BTreeMap::new)
        .insert(
            arn.clone(),
            TargetGroup {
                arn: arn.clone(),
                name: name.into(),
                protocol: Some(protocol.into()),
                port: Some(port),
                target_type: target_type.into(),
                vpc_id: Some(VPC.into()),
                load_balancer_arns: vec![lb.into()],
                health_check_port: Some("traffic-port".into()),
                ..Default::default()
            },
        );
    if let Some(ts) = targets {
        w.aws
            .target_health
            .get_or_insert_with(BTreeMap::new)
            .insert(
                arn.clone(),
                ts.iter()
                    .map(|(id, p)| TargetHealth {
                        id: id.to_string(),
                        port: Some(*p),
                        state: "healthy".into(),
                        ..Default::default()
                    })
                    .collect(),
            );
    }
    arn
}

pub fn add_service(w: &mut World, ns: &str, name: &str) -> ObjKey {
    let key = ObjKey::new(ns, name);
    w.kube.services.get_or_insert_with(BTreeMap::new).insert(
        key.clone(),
        Service {
            meta: Meta {
                namespace: ns.into(),
                name: name.into(),
                ..Default::default()
            },
            spec: ServiceSpec {
                type_: "LoadBalancer".into(),
                ..Default::default()
            },
            lb_hostnames: Vec::new(),
        },
    );
    key
}

/// The classic healthy chain: Service `default/web` → NLB `web` with a managed SG open to the
/// internet on 443 and the backend SG → TG on NodePort 31443 → both nodes, whose SG admits the
/// backend SG on 31443. Returns (lb arn, tg arn).
pub fn web(w: &mut World) -> (String, String) {
    add_sg(w, "sg-0web", &[rule("tcp", 443, 443, "0.0.0.0/0")]);
    add_rule(w, NODE_SG, rule("tcp", 31443, 31443, BACKEND_SG));
    add_service(w, "default", "web");
    let lb = add_lb(
        w,
        "web",
        "network",
        "internet-facing",
        &["sg-0web", BACKEND_SG],
        "default/web",
    );
    let tg = add_tg(
        w,
        "web-443",
        &lb,
        "instance",
        "TCP",
        31443,
        Some(&[("i-0n1", 31443), ("i-0n2", 31443)]),
    );
    add_listener(w, &lb, 443, "TCP", &[&tg]);
    (lb, tg)
}
