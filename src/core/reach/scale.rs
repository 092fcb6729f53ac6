//! A synthetic world at the scale lbsg must handle (5,000 nodes, 1,000 Services, 20,000 ENIs,
//! 2,500 SGs), for the benchmark and timing tests. Deterministic: the same sizes give the same
//! world.

use std::collections::BTreeMap;

use crate::world::*;

/// Sizes of a synthetic world.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub nodes: usize,
    /// ENIs per node (the first is the primary ENI).
    pub enis_per_node: usize,
    /// Pod IPs per ENI.
    pub ips_per_eni: usize,
    pub services: usize,
    pub security_groups: usize,
    /// Share of Services with ip targets (the rest use instance targets).
    pub ip_target_percent: usize,
    pub pods_per_service: usize,
    /// Instance targets per instance-mode target group.
    pub nodes_per_instance_tg: usize,
}

impl Default for Scale {
    /// The benchmark: 5,000 nodes, 1,000 Services, 20,000 ENIs, 2,500 SGs.
    fn default() -> Self {
        Self {
            nodes: 5_000,
            enis_per_node: 4,
            ips_per_eni: 8,
            services: 1_000,
            security_groups: 2_500,
            ip_target_percent: 70,
            pods_per_service: 10,
            nodes_per_instance_tg: 500,
        }
    }
}

fn ip(n: usize) -> String {
    // 10.0.0.0/8 host n (skipping .0 of every /24 keeps addresses readable, not needed for math).
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

fn sg_rule(proto: &str, from: i32, to: i32, src: Source) -> SgRule {
    SgRule {
        rule: Rule::new(proto, from, to, src, ""),
        id: None,
        tags: Tags::new(),
    }
}

fn sg(id: String, ingress: Vec<SgRule>, tags: Tags) -> (String, SecurityGroup) {
    (
        id.clone(),
        SecurityGroup {
            name: id.clone(),
            id,
            vpc_id: Some("vpc-0scale".into()),
            ingress,
            tags,
            ..Default::default()
        },
    )
}

pub fn synthetic_world(s: Scale) -> World {
    let mut w = World::default();
    w.cluster.name = Some("scale".into());
    w.cluster.vpc_id = Some("vpc-0scale".into());
    w.aws.vpcs = Some(vec![Vpc {
        id: "vpc-0scale".into(),
        cidr_blocks: vec![CidrBlock {
            cidr: "10.0.0.0/8".into(),
            state: Some("associated".into()),
        }],
        ..Default::default()
    }]);
    let subnets: Vec<(String, &str)> = vec![
        ("subnet-0a".into(), "10.0.0.0/10"),
        ("subnet-0b".into(), "10.64.0.0/10"),
        ("subnet-0c".into(), "10.128.0.0/10"),
    ];
    w.aws.subnets = Some(
        subnets
            .iter()
            .map(|(id, c)| {
                (
                    id.clone(),
                    Subnet {
                        id: id.clone(),
                        vpc_id: "vpc-0scale".into(),
                        cidr: c.to_string(),
                        ..Default::default()
                    },
                )
            })
            .collect(),
    );

    let mut sgs: BTreeMap<String, SecurityGroup> = BTreeMap::new();
    let backend = "sg-backend".to_string();
    let mut backend_tags = Tags::new();
    backend_tags.insert("elbv2.k8s.aws/cluster".into(), "scale".into());
    backend_tags.insert("elbv2.k8s.aws/resource".into(), "backend-sg".into());
    sgs.extend([sg(backend.clone(), Vec::new(), backend_tags)]);
    sgs.extend([sg(
        "sg-node".into(),
        vec![
            sg_rule("-1", -1, -1, Source::Group("sg-node".into())),
            sg_rule("tcp", 1024, 32767, Source::Group(backend.clone())),
            sg_rule("tcp", 22, 22, Source::Cidr("198.51.100.0/24".into())),
        ],
        Tags::new(),
    )]);
    // Frontend SGs, one per Service.
    for i in 0..s.services {
        let src = if i % 3 == 0 {
            vec![
                Source::Cidr("0.0.0.0/0".into()),
                Source::CidrV6("::/0".into()),
            ]
        } else {
            (0..(i % 7 + 1))
                .map(|k| Source::Cidr(format!("192.0.{}.{}/32", k, i % 250)))
                .collect()
        };
        let rules = src
            .into_iter()
            .map(|src| sg_rule("tcp", 443, 443, src))
            .collect();
        sgs.extend([sg(format!("sg-fe{i:04}"), rules, Tags::new())]);
    }
    // The rest: unrelated SGs with 20 rules each (CIDRs and references).
    let misc = s.security_groups.saturating_sub(sgs.len());
    for i in 0..misc {
        let rules = (0..20i32)
            .map(|k| {
                let src = if k % 4 == 0 {
                    Source::Group(format!("sg-misc{:04}", (i + k as usize) % misc.max(1)))
                } else {
                    Source::Cidr(format!("172.{}.{}.0/24", k, i % 256))
                };
                sg_rule("tcp", 1000 + k, 1000 + k * 10, src)
            })
            .collect();
        sgs.extend([sg(format!("sg-misc{i:04}"), rules, Tags::new())]);
    }

    let mut enis = BTreeMap::new();
    let mut instances = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    let mut pod_ips: Vec<String> = Vec::new();
    let mut n_ip = 256usize;
    for n in 0..s.nodes {
        let inst = format!("i-{n:05}");
        let mut inst_enis = Vec::new();
        // A few distinct SG sets across the fleet, like node groups.
        let extra = format!("sg-misc{:04}", n % 8);
        for e in 0..s.enis_per_node {
            let id = format!("eni-{n:05}-{e}");
            let mut ips = Vec::with_capacity(s.ips_per_eni + 1);
            for _ in 0..=s.ips_per_eni {
                ips.push(ip(n_ip));
                n_ip += 1;
            }
            pod_ips.extend(ips.iter().skip(1).cloned());
            enis.insert(
                id.clone(),
                NetworkInterface {
                    id: id.clone(),
                    subnet_id: Some(subnets[n % 3].0.clone()),
                    vpc_id: Some("vpc-0scale".into()),
                    groups: vec!["sg-node".into(), extra.clone()],
                    private_ips: ips,
                    attachment: Some(EniAttachment {
                        instance_id: Some(inst.clone()),
                        device_index: Some(e as i32),
                    }),
                    ..Default::default()
                },
            );
            inst_enis.push(InstanceEni {
                id,
                device_index: e as i32,
            });
        }
        instances.insert(
            inst.clone(),
            Instance {
                id: inst.clone(),
                enis: inst_enis,
                security_groups: vec!["sg-node".into(), extra],
                ..Default::default()
            },
        );
        let name = format!("node-{n:05}");
        nodes.insert(
            name.clone(),
            Node {
                meta: Meta {
                    name,
                    ..Default::default()
                },
                provider_id: Some(format!("aws:///us-east-1a/{inst}")),
                ready: true,
                ..Default::default()
            },
        );
    }

    let mut lbs = BTreeMap::new();
    let mut listeners = BTreeMap::new();
    let mut tgs = BTreeMap::new();
    let mut health = BTreeMap::new();
    let mut services = BTreeMap::new();
    let mut next_pod = 0usize;
    for i in 0..s.services {
        let ns = format!("ns{}", i % 50);
        let name = format!("svc{i:04}");
        let key = ObjKey::new(ns.clone(), name.clone());
        let lb_arn =
            format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/lb{i:04}/1");
        let tg_arn = format!("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg{i:04}/1");
        let mut tags = Tags::new();
        tags.insert("elbv2.k8s.aws/cluster".into(), "scale".into());
        tags.insert("service.k8s.aws/stack".into(), key.to_string());
        lbs.insert(
            lb_arn.clone(),
            LoadBalancer {
                arn: lb_arn.clone(),
                name: format!("lb{i:04}"),
                dns_name: format!("lb{i:04}.elb.amazonaws.com"),
                type_: "network".into(),
                scheme: if i % 4 == 0 {
                    "internal"
                } else {
                    "internet-facing"
                }
                .into(),
                ip_address_type: "ipv4".into(),
                vpc_id: Some("vpc-0scale".into()),
                security_groups: vec![format!("sg-fe{i:04}"), backend.clone()],
                subnets: subnets.iter().map(|s| s.0.clone()).collect(),
                tags,
                ..Default::default()
            },
        );
        listeners.insert(
            format!("{lb_arn}/l443"),
            Listener {
                arn: format!("{lb_arn}/l443"),
                load_balancer_arn: lb_arn.clone(),
                port: 443,
                protocol: "TCP".into(),
                target_group_arns: vec![tg_arn.clone()],
            },
        );
        let ip_mode = i * 100 < s.ip_target_percent * s.services;
        let port = if ip_mode { 8443 } else { 30000 + i as i32 };
        let targets: Vec<TargetHealth> = if ip_mode {
            (0..s.pods_per_service)
                .map(|_| {
                    let id = pod_ips[next_pod % pod_ips.len().max(1)].clone();
                    next_pod += 1;
                    TargetHealth {
                        id,
                        port: Some(port),
                        state: "healthy".into(),
                        ..Default::default()
                    }
                })
                .collect()
        } else {
            (0..s.nodes_per_instance_tg.min(s.nodes))
                .map(|k| TargetHealth {
                    id: format!("i-{:05}", (i * 7 + k) % s.nodes.max(1)),
                    port: Some(port),
                    state: "healthy".into(),
                    ..Default::default()
                })
                .collect()
        };
        tgs.insert(
            tg_arn.clone(),
            TargetGroup {
                arn: tg_arn.clone(),
                name: format!("tg{i:04}"),
                protocol: Some("TCP".into()),
                port: Some(port),
                target_type: if ip_mode { "ip" } else { "instance" }.into(),
                vpc_id: Some("vpc-0scale".into()),
                load_balancer_arns: vec![lb_arn],
                health_check_port: Some("traffic-port".into()),
                ..Default::default()
            },
        );
        health.insert(tg_arn, targets);
        services.insert(
            key,
            Service {
                meta: Meta {
                    namespace: ns,
                    name,
                    ..Default::default()
                },
                spec: ServiceSpec {
                    type_: "LoadBalancer".into(),
                    ..Default::default()
                },
                lb_hostnames: Vec::new(),
            },
        );
    }
    w.aws.security_groups = Some(sgs);
    w.aws.enis = Some(enis);
    w.aws.instances = Some(instances);
    w.aws.load_balancers = Some(lbs);
    w.aws.listeners = Some(listeners);
    w.aws.target_groups = Some(tgs);
    w.aws.target_health = Some(health);
    w.aws.prefix_lists = Some(BTreeMap::new());
    w.kube.nodes = Some(nodes);
    w.kube.services = Some(services);
    w.kube.ingresses = Some(BTreeMap::new());
    w
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::core::reach::{WorldIndex, exposure_with};

    #[test]
    fn the_benchmark_world_has_the_promised_sizes() {
        let w = synthetic_world(Scale::default());
        assert_eq!(w.kube.nodes.as_ref().map(BTreeMap::len), Some(5_000));
        assert_eq!(w.aws.enis.as_ref().map(BTreeMap::len), Some(20_000));
        assert_eq!(
            w.aws.security_groups.as_ref().map(BTreeMap::len),
            Some(2_500)
        );
        assert_eq!(w.kube.services.as_ref().map(BTreeMap::len), Some(1_000));
    }

    #[test]
    fn small_synthetic_world_is_fully_reachable() {
        let w = synthetic_world(Scale {
            nodes: 30,
            services: 20,
            security_groups: 60,
            nodes_per_instance_tg: 10,
            ..Scale::default()
        });
        let idx = WorldIndex::new(&w);
        let e = exposure_with(&idx);
        assert_eq!(e.load_balancers.len(), 20);
        for lb in e.load_balancers.values() {
            for l in &lb.listeners {
                assert!(l.total_targets > 0, "{}", l.summary);
                assert_eq!(l.reachable_targets, l.total_targets, "{}", l.summary);
            }
        }
    }

    /// On-CPU time of this thread (Linux), so timings mean something on a loaded machine.
    fn cpu() -> std::time::Duration {
        let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(0);
        std::time::Duration::from_nanos(ns)
    }

    /// Timing at full scale; run with `cargo test --lib scale_timing -- --ignored --nocapture`
    /// (add `--config 'profile.dev.package.lbsg.opt-level=3'` and the same for `petgraph` and
    /// `ipnet` for optimised numbers without a release build of every dependency).
    #[test]
    #[ignore = "timing"]
    fn scale_timing() {
        let w = synthetic_world(Scale::default());
        let (t0, c0) = (Instant::now(), cpu());
        let idx = WorldIndex::new(&w);
        let (t1, c1) = (Instant::now(), cpu());
        let e = exposure_with(&idx);
        let (t2, c2) = (Instant::now(), cpu());
        let g = crate::core::graph::build_with(&idx, &e);
        let (t3, c3) = (Instant::now(), cpu());
        let targets: usize = e
            .load_balancers
            .values()
            .flat_map(|l| &l.listeners)
            .map(|l| l.total_targets)
            .sum();
        println!(
            "{} LBs, {targets} targets; graph {} nodes, {} edges",
            e.load_balancers.len(),
            g.node_count(),
            g.edge_count()
        );
        println!(
            "cpu: index {:?}, exposure {:?}, graph {:?}, total {:?} (wall {:?})",
            c1 - c0,
            c2 - c1,
            c3 - c2,
            c3 - c0,
            t3 - t0
        );
        let _ = (t1, t2);
    }
}
