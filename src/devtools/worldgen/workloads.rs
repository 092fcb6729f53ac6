//! The Kubernetes side: LB Services in their realistic mix, and the pods and EndpointSlices
//! behind every ip target (Ingresses and their backends: `ingresses.rs`).

use std::collections::BTreeMap;

use super::Gen;
use super::infra::{AZS, OFFICE_CIDR};
use super::problems::ProblemKind;
use super::quota::{NLB_TARGETS_PER_AZ, TARGETS_PER_TG};
use crate::world::{
    ContainerPort, Endpoint, EndpointPort, EndpointSlice, IntOrString, LoadBalancer, Meta, ObjKey,
    Pod, Service, ServicePort, ServiceSpec, Tags,
};

const SVC: &str = "service.beta.kubernetes.io/";
pub(super) const ING: &str = "alb.ingress.kubernetes.io/";
const NAMESPACES: [&str; 25] = [
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "billing",
    "orders",
    "media",
    "ads",
    "analytics",
    "shipping",
    "inventory",
    "chat",
    "notify",
    "gateway",
    "edge",
    "reports",
    "ml-serving",
    "data",
    "auth",
    "partners",
    "mobile",
    "web",
    "internal-tools",
    "streaming",
];
const ROLES: [&str; 10] = [
    "api", "grpc", "web", "ingest", "gateway", "stream", "dns", "syslog", "metrics", "broker",
];
const TCP_PORTS: [i32; 10] = [443, 80, 8443, 9443, 8080, 5000, 6443, 9092, 5432, 8125];
const TARGET_PORTS: [i32; 4] = [8080, 8443, 9000, 3000];
pub(super) const INTERNAL_CLASS: &str = "alb-internal";
/// Pods behind one Ingress backend, at most.
pub(super) const MAX_BACKEND_REPLICAS: usize = 4;

/// The frontend of a generated LB Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Front {
    Managed,
    /// Custom SG (by id, or by its `Name` tag), with backend rules managed or not.
    Custom {
        by_name: bool,
        manage: bool,
    },
    /// The annotation names a `Name` tag no SG carries.
    Unresolvable,
    /// An NLB created without SGs.
    Legacy,
}

fn ann(prefix: &str, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v.to_string()))
        .collect()
}

impl Gen {
    pub(super) fn workloads(&mut self) {
        self.plan_problems();
        let namespaces = self.namespaces();
        for (i, ns) in namespaces.iter().enumerate() {
            if i % 8 == 3 {
                let name = format!("{ns}-pods");
                let tags = Tags::from([("Name".to_string(), name.clone())]);
                let sg = self.add_sg(&name, "SecurityGroupPolicy pods", tags, Vec::new());
                self.net.pod_sgs.insert(ns.clone(), sg);
            }
        }
        for i in 0..self.spec.counts.lb_services {
            let ns = namespaces[self.rng.below(namespaces.len())].clone();
            self.lb_service(i, &ns);
        }
        self.ingress_classes();
        self.ingresses(&namespaces);
    }

    fn namespaces(&self) -> Vec<String> {
        let c = self.spec.counts;
        let n = ((c.lb_services + c.ingresses) / 12).max(4);
        (0..n)
            .map(|i| match i / NAMESPACES.len() {
                0 => NAMESPACES[i % NAMESPACES.len()].to_string(),
                k => format!("{}-{}", NAMESPACES[i % NAMESPACES.len()], k + 1),
            })
            .collect()
    }

    pub(super) fn meta(&mut self, ns: &str, name: &str) -> Meta {
        Meta {
            namespace: ns.to_string(),
            name: name.to_string(),
            uid: self.rng.uid(),
            resource_version: (100_000 + self.rng.below(900_000)).to_string(),
            labels: BTreeMap::from([("app".to_string(), name.to_string())]),
            ..Meta::default()
        }
    }

    /// The custom frontend SG of a namespace's NLBs: user-made, named by a `Name` tag.
    pub(super) fn custom_sg(&mut self, ns: &str) -> String {
        if let Some(id) = self.net.custom_sgs.get(ns) {
            return id.clone();
        }
        let name = format!("{ns}-nlb");
        let tags = Tags::from([("Name".to_string(), name.clone())]);
        let rules = vec![
            crate::world::Rule::new(
                "tcp",
                443,
                443,
                crate::world::Source::Cidr("0.0.0.0/0".into()),
                "https",
            ),
            crate::world::Rule::new(
                "tcp",
                80,
                80,
                crate::world::Source::Cidr(OFFICE_CIDR.into()),
                "office",
            ),
        ];
        let id = self.add_sg(&name, &format!("{ns} load balancers"), tags, rules);
        self.net.custom_sgs.insert(ns.to_string(), id.clone());
        id
    }

    pub(super) fn public_cidrs(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                format!(
                    "{}.{}.{}.0/24",
                    [3, 13, 18, 34, 52, 54][self.rng.below(6)],
                    self.rng.below(256),
                    self.rng.below(256)
                )
            })
            .collect()
    }

    fn lb_service(&mut self, i: usize, ns: &str) {
        let problem = self.pre.by_service.get(&i).copied();
        let name = format!("{}-{i}", ROLES[self.rng.below(ROLES.len())]);
        let key = ObjKey::new(ns, name.clone());
        let ip_target = self.rng.chance(0.4);
        let mut internet = self.rng.chance(0.4);
        let front = match problem {
            Some(ProblemKind::UnresolvableSgName) => Front::Unresolvable,
            Some(ProblemKind::CustomSgWithoutBackendRules) => Front::Custom {
                by_name: false,
                manage: false,
            },
            Some(ProblemKind::InternalOpenToWorld) => {
                internet = false;
                Front::Managed
            }
            // SG-less NLBs are rare and put one CIDR rule per client range and port on every
            // node SG, so they stay at one in two hundred
            _ => match self.rng.below(200) {
                0 => Front::Legacy,
                r if r < 60 => Front::Custom {
                    by_name: r < 20,
                    manage: true,
                },
                _ => Front::Managed,
            },
        };
        if let Some(kind) = problem {
            self.plant(kind, format!("service/{key}"));
        }
        let mut meta = self.meta(ns, &name);
        if self.rng.chance(0.5) {
            meta.labels
                .insert("app.kubernetes.io/managed-by".into(), "Helm".into());
        }
        let scheme = if internet {
            "internet-facing"
        } else {
            "internal"
        };
        let target = if ip_target { "ip" } else { "instance" };
        let mut a = ann(
            SVC,
            &[
                ("aws-load-balancer-scheme", scheme),
                ("aws-load-balancer-nlb-target-type", target),
            ],
        );
        let mut spec = ServiceSpec {
            type_: "LoadBalancer".into(),
            selector: BTreeMap::from([("app".to_string(), name.clone())]),
            ..ServiceSpec::default()
        };
        if self.rng.chance(0.9) {
            spec.load_balancer_class = Some("service.k8s.aws/nlb".into());
        } else {
            a.insert(format!("{SVC}aws-load-balancer-type"), "external".into());
        }
        match front {
            Front::Managed => {
                if problem == Some(ProblemKind::InternalOpenToWorld) {
                    // no ranges: the LBC opens the managed SG to 0.0.0.0/0 whatever the scheme
                } else if !internet {
                    spec.load_balancer_source_ranges = vec!["10.0.0.0/8".into()];
                } else if self.rng.chance(0.05) {
                    a.insert(
                        format!("{SVC}aws-load-balancer-ip-address-type"),
                        "dualstack".into(),
                    );
                } else if self.rng.chance(0.5) {
                    let n = self.rng.range(1, 4);
                    spec.load_balancer_source_ranges = self.public_cidrs(n);
                }
                if self.rng.chance(0.05) {
                    a.insert(
                        format!("{SVC}aws-load-balancer-enable-icmp-for-path-mtu-discovery"),
                        "on".into(),
                    );
                }
            }
            Front::Custom { by_name, manage } => {
                let id = self.custom_sg(ns);
                let token = if by_name { format!("{ns}-nlb") } else { id };
                a.insert(format!("{SVC}aws-load-balancer-security-groups"), token);
                if manage {
                    a.insert(
                        format!("{SVC}aws-load-balancer-manage-backend-security-group-rules"),
                        "true".into(),
                    );
                }
            }
            Front::Unresolvable => {
                // the SG exists under that GroupName, but the LBC resolves names by `Name` tag
                let gname = format!("{name}-frontend");
                self.add_sg(&gname, "made by hand", Tags::new(), Vec::new());
                a.insert(format!("{SVC}aws-load-balancer-security-groups"), gname);
            }
            Front::Legacy => {
                if internet {
                    spec.load_balancer_source_ranges = self.public_cidrs(1);
                }
            }
        }
        meta.annotations = a;
        // ports
        let n_ports = match self.rng.below(10) {
            0..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        let first = self.rng.below(TCP_PORTS.len());
        for k in 0..n_ports {
            let udp = k == 0 && n_ports == 1 && self.rng.chance(0.05);
            let (proto, port) = if udp {
                ("UDP", if self.rng.chance(0.5) { 53 } else { 514 })
            } else {
                ("TCP", TCP_PORTS[(first + k) % TCP_PORTS.len()])
            };
            let target_port = TARGET_PORTS[(first + k) % TARGET_PORTS.len()] + k as i32;
            let node_port = self.node_port();
            spec.ports.push(ServicePort {
                name: Some(format!("{}-{port}", proto.to_lowercase())),
                protocol: Some(proto.into()),
                port,
                target_port: Some(IntOrString::Int(target_port)),
                node_port: Some(node_port),
            });
        }
        if !ip_target {
            // every port is a target group registering the same nodes in each AZ
            let tgs = spec.ports.len();
            let fits = |nodes: usize| {
                nodes <= TARGETS_PER_TG && nodes.div_ceil(AZS.len()) * tgs <= NLB_TARGETS_PER_AZ
            };
            if let Some(labels) = self.node_pool(fits) {
                meta.annotations
                    .insert(format!("{SVC}aws-load-balancer-target-node-labels"), labels);
            }
        }
        if !ip_target && self.rng.chance(0.2) {
            spec.external_traffic_policy = Some("Local".into());
            spec.health_check_node_port = Some(self.node_port());
        } else {
            spec.external_traffic_policy = Some("Cluster".into());
        }
        if front == Front::Legacy {
            self.legacy_lb(&key, scheme);
        }
        let ports: Vec<(String, i32, String)> = spec
            .ports
            .iter()
            .map(|p| {
                let tp = match &p.target_port {
                    Some(IntOrString::Int(t)) => *t,
                    _ => p.port,
                };
                (
                    p.name.clone().unwrap_or_default(),
                    tp,
                    p.protocol.clone().unwrap_or_default(),
                )
            })
            .collect();
        if let Some(m) = self.w.kube.services.as_mut() {
            m.insert(
                key,
                Service {
                    meta,
                    spec,
                    lb_hostnames: Vec::new(),
                },
            );
        }
        if ip_target {
            let replicas = self.rng.range(2, 5);
            self.pods(ns, &name, replicas, &ports);
        }
    }

    /// An NLB created before the LBC gave NLBs SGs: it exists, without any.
    fn legacy_lb(&mut self, key: &ObjKey, scheme: &str) {
        let lb = self.new_lb(
            &crate::core::lbc::model::StackId::Service(key.clone()),
            "network",
            scheme,
            Vec::new(),
        );
        if let Some(m) = self.w.aws.load_balancers.as_mut() {
            m.insert(lb.arn.clone(), lb);
        }
    }

    /// Ready pods of `app` and the EndpointSlice listing them. Pods in an SG-for-pods namespace
    /// get a branch ENI; the others a secondary IP on their node's device-1 ENI.
    pub(super) fn pods(
        &mut self,
        ns: &str,
        app: &str,
        replicas: usize,
        ports: &[(String, i32, String)],
    ) {
        if self.net.nodes.is_empty() {
            return;
        }
        let rs = self.rng.hex(10);
        let mut endpoints = Vec::new();
        for _ in 0..replicas {
            let node = self.net.nodes[self.rng.below(self.net.nodes.len())].clone();
            let pod_name = format!("{app}-{rs}-{}", self.rng.kube_suffix(5));
            let mut meta = self.meta(ns, &pod_name);
            meta.labels.insert("app".into(), app.to_string());
            let ip = match self.net.pod_sgs.get(ns).cloned() {
                Some(sg) => {
                    let eni = self.add_eni(
                        &node.subnet,
                        vec![sg],
                        "aws-k8s-branch-eni",
                        "branch",
                        None,
                        Tags::from([(
                            "vpcresources.k8s.aws/trunk-eni-id".to_string(),
                            node.pod_eni.clone(),
                        )]),
                    );
                    let ip = self
                        .w
                        .aws
                        .enis
                        .as_ref()
                        .and_then(|m| m.get(&eni))
                        .and_then(|e| e.private_ips.first().cloned())
                        .unwrap_or_default();
                    meta.annotations.insert(
                        "vpc.amazonaws.com/pod-eni".into(),
                        format!(r#"[{{"eniId":"{eni}","ifAddress":"02:00:00:00:00:01","privateIp":"{ip}","vlanId":1,"subnetCidr":"10.0.0.0/8"}}]"#),
                    );
                    ip
                }
                None => {
                    let ip = self.alloc_ip(&node.subnet);
                    if let Some(e) = self
                        .w
                        .aws
                        .enis
                        .as_mut()
                        .and_then(|m| m.get_mut(&node.pod_eni))
                    {
                        e.private_ips.push(ip.clone());
                    }
                    self.pre
                        .pod_enis
                        .entry(node.pod_eni.clone())
                        .or_default()
                        .insert(format!("{ns}/{app}"));
                    ip
                }
            };
            endpoints.push(Endpoint {
                addresses: vec![ip.clone()],
                ready: true,
                node_name: Some(node.name.clone()),
                pod: Some(ObjKey::new(ns, pod_name.clone())),
            });
            let pod = Pod {
                meta,
                node_name: Some(node.name.clone()),
                pod_ips: vec![ip],
                ports: ports
                    .iter()
                    .map(|(n, p, proto)| ContainerPort {
                        name: Some(n.clone()),
                        container_port: *p,
                        protocol: Some(proto.clone()),
                    })
                    .collect(),
                ready: true,
            };
            if let Some(m) = self.w.kube.pods.as_mut() {
                m.insert(ObjKey::new(ns, pod_name), pod);
            }
        }
        let slice_name = format!("{app}-{}", self.rng.kube_suffix(5));
        let mut meta = self.meta(ns, &slice_name);
        meta.labels = BTreeMap::from([("kubernetes.io/service-name".to_string(), app.to_string())]);
        let slice = EndpointSlice {
            meta,
            service_name: Some(app.to_string()),
            address_type: "IPv4".into(),
            ports: ports
                .iter()
                .map(|(n, p, proto)| EndpointPort {
                    name: Some(n.clone()),
                    port: Some(*p),
                    protocol: Some(proto.clone()),
                })
                .collect(),
            endpoints,
        };
        if let Some(m) = self.w.kube.endpoint_slices.as_mut() {
            m.insert(ObjKey::new(ns, slice_name), slice);
        }
    }

    /// A load balancer for a stack, without listeners; `sgs` empty = created without SGs.
    pub(super) fn new_lb(
        &mut self,
        stack: &crate::core::lbc::model::StackId,
        type_: &str,
        scheme: &str,
        sgs: Vec<String>,
    ) -> LoadBalancer {
        let id = stack.stack_id();
        let hash = crate::core::lbc::naming::sha256_hex(&[&self.cluster, &id, scheme]);
        let (ns, name) = id.split_once('/').unwrap_or(("", id.as_str()));
        let san = |s: &str, n: usize| -> String {
            crate::core::lbc::naming::sanitize(s)
                .chars()
                .take(n)
                .collect()
        };
        let lb_name = if ns.is_empty() {
            format!("k8s-{}-{}", san(name, 17), &hash[..10])
        } else {
            format!("k8s-{}-{}-{}", san(ns, 8), san(name, 8), &hash[..10])
        };
        let kind = if type_ == "network" { "net" } else { "app" };
        let suffix = self.arn_suffix();
        let subnets = if scheme == "internet-facing" {
            self.net.public.clone()
        } else {
            self.net.lb_private.clone()
        };
        let mut tags = stack.stack_tags(&self.cluster);
        tags.insert(stack.resource_key(), "LoadBalancer".into());
        let dns = if scheme == "internal" {
            format!(
                "internal-{lb_name}-{}.elb.{}.amazonaws.com",
                &suffix[..10],
                self.region
            )
        } else {
            format!(
                "{lb_name}-{}.elb.{}.amazonaws.com",
                &suffix[..10],
                self.region
            )
        };
        LoadBalancer {
            arn: format!(
                "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/{kind}/{lb_name}/{suffix}",
                self.region, self.account
            ),
            name: lb_name,
            dns_name: dns,
            type_: type_.to_string(),
            scheme: scheme.to_string(),
            ip_address_type: "ipv4".into(),
            vpc_id: Some(self.net.vpc.clone()),
            security_groups: sgs,
            subnets,
            state: Some("active".into()),
            enforce_private_link_sg: None,
            tags,
            attributes: None,
        }
    }
}
