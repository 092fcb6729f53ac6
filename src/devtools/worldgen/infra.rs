//! The account and cluster infrastructure: VPC, subnets, the SGs every EKS cluster has, node
//! groups, EC2 instances with their ENIs, and the Node objects.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::Gen;
use crate::core::lbc::naming::{BACKEND_SG_DESCRIPTION, backend_sg_name};
use crate::core::lbc::tags::backend_sg_tags;
use crate::world::{
    CidrBlock, ClusterInfo, ControllerConfig, EniAttachment, Instance, InstanceEni, Meta,
    NetworkInterface, Node, Rule, SecurityGroup, Source, Subnet, Tags, Vpc,
};

pub(super) const AZS: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
const INSTANCE_TYPES: [&str; 4] = ["m6i.2xlarge", "m6i.4xlarge", "c6i.4xlarge", "r6i.2xlarge"];
pub(super) const OFFICE_CIDR: &str = "198.51.100.0/24";

/// Addresses handed out in one subnet.
#[derive(Debug, Clone)]
pub(super) struct Pool {
    base: u32,
    size: u32,
    next: u32,
}

/// A node group: the SGs its ENIs carry; `excluded` nodes never serve LB traffic.
#[derive(Debug, Clone)]
pub(super) struct NodeGroup {
    pub name: String,
    pub sgs: Vec<String>,
    pub excluded: bool,
}

/// One node as the workloads need it.
#[derive(Debug, Clone)]
pub(super) struct NodeRef {
    pub name: String,
    pub subnet: String,
    /// The device-1 ENI, which holds the pods' secondary IPs.
    pub pod_eni: String,
    pub instance: String,
}

/// Ids the rest of the generator refers to.
#[derive(Debug, Clone, Default)]
pub(super) struct Net {
    pub vpc: String,
    pub vpc_cidrs: Vec<String>,
    pub public: Vec<String>,
    pub lb_private: Vec<String>,
    /// Node subnets by availability zone.
    pub node_subnets: Vec<Vec<String>>,
    pub pools: BTreeMap<String, Pool>,
    pub backend_sg: String,
    pub cluster_sg: String,
    pub bastion_sg: String,
    pub monitoring_sg: String,
    pub groups: Vec<NodeGroup>,
    pub nodes: Vec<NodeRef>,
    /// Custom frontend SG of a namespace's NLBs (created on first use).
    pub custom_sgs: BTreeMap<String, String>,
    /// SG-for-pods namespaces and the SG of their branch ENIs.
    pub pod_sgs: BTreeMap<String, String>,
}

pub(super) fn all_traffic(source: Source, description: &str) -> Rule {
    Rule {
        protocol: "-1".into(),
        from_port: None,
        to_port: None,
        source,
        description: description.into(),
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Gen {
    pub(super) fn cluster_tag(&self) -> String {
        format!("kubernetes.io/cluster/{}", self.cluster)
    }

    /// Build everything below the workloads.
    pub(super) fn infra(&mut self) {
        self.world_skeleton();
        self.network();
        self.base_sgs();
        self.node_groups();
        for i in 0..self.spec.counts.nodes {
            self.node(i);
        }
    }

    fn world_skeleton(&mut self) {
        let vpc = format!("vpc-0{}", self.rng.hex(16));
        let args: Vec<String> = [
            format!("--cluster-name={}", self.cluster),
            format!("--aws-vpc-id={vpc}"),
            format!("--aws-region={}", self.region),
            "--default-tags=cost-center=platform".to_string(),
            "--feature-gates=NLBSecurityGroup=true".to_string(),
        ]
        .into();
        // the args above are all valid; defaults are the fallback should that ever change
        let controller = ControllerConfig::from_args(&args).unwrap_or_default();
        self.w.cluster = ClusterInfo {
            name: Some(self.cluster.clone()),
            region: Some(self.region.clone()),
            vpc_id: Some(vpc.clone()),
            account: Some(self.account.clone()),
        };
        self.w.controller = Some(controller);
        let k = &mut self.w.kube;
        k.services = Some(BTreeMap::new());
        k.ingresses = Some(BTreeMap::new());
        k.ingress_classes = Some(BTreeMap::new());
        k.ingress_class_params = Some(BTreeMap::new());
        k.target_group_bindings = Some(BTreeMap::new());
        k.nodes = Some(BTreeMap::new());
        k.pods = Some(BTreeMap::new());
        k.endpoint_slices = Some(BTreeMap::new());
        k.events = Some(Vec::new());
        let a = &mut self.w.aws;
        a.subnets = Some(BTreeMap::new());
        a.security_groups = Some(BTreeMap::new());
        a.prefix_lists = Some(BTreeMap::new());
        a.enis = Some(BTreeMap::new());
        a.instances = Some(BTreeMap::new());
        a.load_balancers = Some(BTreeMap::new());
        a.listeners = Some(BTreeMap::new());
        a.target_groups = Some(BTreeMap::new());
        a.target_health = Some(BTreeMap::new());
        self.net.vpc = vpc;
    }

    /// 10.0.0.0/16 holds the LB subnets; each further /16 holds three /18 node subnets.
    fn network(&mut self) {
        let c = self.spec.counts;
        // every ENI has a primary address; pods take a few more
        let demand = c.enis + c.nodes + 4 * (c.lb_services + c.ingresses) * 4;
        let blocks = demand.div_ceil(3 * 16_000).max(1);
        let mut cidrs = vec!["10.0.0.0/16".to_string()];
        cidrs.extend((1..=blocks).map(|b| format!("10.{b}.0.0/16")));
        self.net.vpc_cidrs = cidrs.clone();
        self.w.aws.vpcs = Some(vec![Vpc {
            id: self.net.vpc.clone(),
            cidr_blocks: cidrs
                .iter()
                .map(|c| CidrBlock {
                    cidr: c.clone(),
                    state: Some("associated".into()),
                })
                .collect(),
            ipv6_cidr_blocks: vec![CidrBlock {
                cidr: "2600:1f18:4d2:e600::/56".into(),
                state: Some("associated".into()),
            }],
            tags: tags(&[("Name", &format!("{}-vpc", self.cluster))]),
        }]);
        let cluster_tag = self.cluster_tag();
        for (az, zone) in AZS.iter().enumerate() {
            let public = self.subnet(
                0,
                16 * az as u32,
                20,
                zone,
                vec![format!("2600:1f18:4d2:e60{az}::/64")],
                &[("kubernetes.io/role/elb", "1")],
            );
            self.net.public.push(public);
            let private = self.subnet(
                0,
                64 + 16 * az as u32,
                20,
                zone,
                Vec::new(),
                &[("kubernetes.io/role/internal-elb", "1")],
            );
            self.net.lb_private.push(private);
            let nodes = (1..=blocks)
                .map(|b| {
                    self.subnet(
                        b as u32,
                        64 * az as u32,
                        18,
                        zone,
                        Vec::new(),
                        &[(cluster_tag.as_str(), "shared")],
                    )
                })
                .collect();
            self.net.node_subnets.push(nodes);
        }
    }

    fn subnet(
        &mut self,
        second: u32,
        third: u32,
        prefix: u32,
        zone: &str,
        ipv6: Vec<String>,
        extra: &[(&str, &str)],
    ) -> String {
        let id = format!("subnet-0{}", self.rng.hex(16));
        let base = u32::from(Ipv4Addr::new(10, second as u8, third as u8, 0));
        let cidr = format!("{}/{prefix}", Ipv4Addr::from(base));
        let mut t = tags(extra);
        t.insert("Name".into(), format!("{}-{zone}-{}", self.cluster, third));
        self.net.pools.insert(
            id.clone(),
            Pool {
                base,
                size: 1 << (32 - prefix),
                next: 4, // AWS keeps the first four addresses
            },
        );
        if let Some(m) = self.w.aws.subnets.as_mut() {
            m.insert(
                id.clone(),
                Subnet {
                    id: id.clone(),
                    vpc_id: self.net.vpc.clone(),
                    cidr,
                    ipv6_cidrs: ipv6,
                    availability_zone: Some(zone.to_string()),
                    tags: t,
                },
            );
        }
        id
    }

    /// The next free address of a subnet (wraps, which never happens at the preset sizes).
    pub(super) fn alloc_ip(&mut self, subnet: &str) -> String {
        let Some(p) = self.net.pools.get_mut(subnet) else {
            return "10.255.255.254".into();
        };
        if p.next >= p.size - 1 {
            p.next = 4;
        }
        let ip = Ipv4Addr::from(p.base + p.next);
        p.next += 1;
        ip.to_string()
    }

    /// A node subnet of `az` with room left.
    fn node_subnet(&self, az: usize) -> String {
        let subnets = &self.net.node_subnets[az % self.net.node_subnets.len()];
        subnets
            .iter()
            .find(|s| self.net.pools.get(*s).is_some_and(|p| p.next + 64 < p.size))
            .or(subnets.last())
            .cloned()
            .unwrap_or_default()
    }

    /// Add an SG with the default egress rule; returns its id.
    pub(super) fn add_sg(
        &mut self,
        name: &str,
        description: &str,
        tags: Tags,
        ingress: Vec<Rule>,
    ) -> String {
        let id = self.sg_ids.next("sg-");
        self.add_sg_with_id(&id, name, description, tags, ingress);
        id
    }

    pub(super) fn add_sg_with_id(
        &mut self,
        id: &str,
        name: &str,
        description: &str,
        tags: Tags,
        ingress: Vec<Rule>,
    ) {
        let ingress = ingress.into_iter().map(|r| self.sg_rule(r)).collect();
        let egress = vec![self.sg_rule(all_traffic(Source::Cidr("0.0.0.0/0".into()), ""))];
        let sg = SecurityGroup {
            id: id.to_string(),
            name: name.to_string(),
            description: description.to_string(),
            vpc_id: Some(self.net.vpc.clone()),
            owner_id: Some(self.account.clone()),
            tags,
            ingress,
            egress,
        };
        if let Some(m) = self.w.aws.security_groups.as_mut() {
            m.insert(id.to_string(), sg);
        }
    }

    /// Append an inbound rule to an existing SG.
    pub(super) fn add_rule(&mut self, sg: &str, rule: Rule) {
        let r = self.sg_rule(rule);
        if let Some(g) = self
            .w
            .aws
            .security_groups
            .as_mut()
            .and_then(|m| m.get_mut(sg))
        {
            g.ingress.push(r);
        }
    }

    fn base_sgs(&mut self) {
        let c = self.cluster.clone();
        let default_tags = self
            .w
            .controller
            .as_ref()
            .map(|c| c.default_tags.clone())
            .unwrap_or_default();
        self.net.backend_sg = self.add_sg(
            &backend_sg_name(&c),
            BACKEND_SG_DESCRIPTION,
            backend_sg_tags(&c, &default_tags),
            Vec::new(),
        );
        let cluster_sg_name = format!(
            "eks-cluster-sg-{c}-{}",
            1_000_000_000 + self.rng.below(1_000_000_000)
        );
        let cluster_sg = self.sg_ids.next("sg-");
        self.add_sg_with_id(
            &cluster_sg,
            &cluster_sg_name,
            "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.",
            tags(&[
                (&self.cluster_tag(), "owned"),
                ("aws:eks:cluster-name", &c),
                ("Name", &cluster_sg_name),
            ]),
            vec![all_traffic(Source::Group(cluster_sg.clone()), "")],
        );
        self.net.cluster_sg = cluster_sg;
        let bastion = format!("{c}-bastion");
        self.net.bastion_sg = self.add_sg(
            &bastion,
            "SSH from the office",
            tags(&[("Name", &bastion)]),
            vec![Rule::new(
                "tcp",
                22,
                22,
                Source::Cidr(OFFICE_CIDR.into()),
                "office",
            )],
        );
        let monitoring = format!("{c}-node-monitoring");
        self.net.monitoring_sg = self.add_sg(
            &monitoring,
            "Prometheus scrapes node exporters",
            tags(&[("Name", &monitoring)]),
            vec![Rule::new(
                "tcp",
                9100,
                9100,
                Source::Cidr("10.0.200.0/24".into()),
                "prometheus",
            )],
        );
    }

    /// Managed node groups use the EKS cluster SG alone; self-managed ones their own
    /// cluster-tagged node SG plus an untagged monitoring SG; every tenth group is a batch
    /// group excluded from load balancers.
    fn node_groups(&mut self) {
        let n = (self.spec.counts.nodes / 250).max(3);
        for k in 0..n {
            let (kind, sgs) = if k % 10 == 9 {
                ("batch", vec![self.net.cluster_sg.clone()])
            } else if k % 3 == 2 {
                let name = format!("{}-ng-{k}-node", self.cluster);
                let node_sg = self.sg_ids.next("sg-");
                let rules = vec![
                    all_traffic(Source::Group(node_sg.clone()), "node to node"),
                    Rule::new(
                        "tcp",
                        443,
                        443,
                        Source::Group(self.net.cluster_sg.clone()),
                        "control plane",
                    ),
                    Rule::new(
                        "tcp",
                        10250,
                        10250,
                        Source::Group(self.net.cluster_sg.clone()),
                        "kubelet",
                    ),
                    Rule::new(
                        "tcp",
                        22,
                        22,
                        Source::Group(self.net.bastion_sg.clone()),
                        "ssh",
                    ),
                ];
                self.add_sg_with_id(
                    &node_sg,
                    &name,
                    "Self-managed node group",
                    tags(&[(&self.cluster_tag(), "owned"), ("Name", &name)]),
                    rules,
                );
                ("self", vec![node_sg, self.net.monitoring_sg.clone()])
            } else {
                ("managed", vec![self.net.cluster_sg.clone()])
            };
            self.net.groups.push(NodeGroup {
                name: format!("ng-{k}-{kind}"),
                sgs,
                excluded: kind == "batch",
            });
        }
    }

    /// Add an ENI; `attach` = (instance, device index).
    pub(super) fn add_eni(
        &mut self,
        subnet: &str,
        groups: Vec<String>,
        description: &str,
        interface_type: &str,
        attach: Option<(&str, i32)>,
        tags: Tags,
    ) -> String {
        let id = self.eni_ids.next("eni-");
        let ip = self.alloc_ip(subnet);
        let eni = NetworkInterface {
            id: id.clone(),
            subnet_id: Some(subnet.to_string()),
            vpc_id: Some(self.net.vpc.clone()),
            description: description.to_string(),
            interface_type: Some(interface_type.to_string()),
            groups,
            private_ips: vec![ip],
            ipv6_addresses: Vec::new(),
            ipv4_prefixes: Vec::new(),
            ipv6_prefixes: Vec::new(),
            attachment: attach.map(|(i, d)| EniAttachment {
                instance_id: Some(i.to_string()),
                device_index: Some(d),
            }),
            status: Some("in-use".into()),
            tags,
        };
        if let Some(m) = self.w.aws.enis.as_mut() {
            m.insert(id.clone(), eni);
        }
        id
    }

    /// A secondary ENI of the VPC CNI on an instance (same SGs as the primary).
    pub(super) fn add_node_eni(&mut self, instance: &str, device: i32) -> Option<String> {
        let inst = self.w.aws.instances.as_ref()?.get(instance)?;
        let subnet = inst.subnet_id.clone().unwrap_or_default();
        let groups = inst.security_groups.clone();
        let t = tags(&[
            ("cluster.k8s.amazonaws.com/name", &self.cluster),
            ("node.k8s.amazonaws.com/instance_id", instance),
        ]);
        let description = format!("aws-K8S-{instance}");
        let id = self.add_eni(
            &subnet,
            groups,
            &description,
            "interface",
            Some((instance, device)),
            t,
        );
        let inst = self.w.aws.instances.as_mut()?.get_mut(instance)?;
        inst.enis.push(InstanceEni {
            id: id.clone(),
            device_index: device,
        });
        Some(id)
    }

    fn node(&mut self, i: usize) {
        let n = self.spec.counts.nodes.max(1);
        let gi = i * self.net.groups.len() / n;
        let group = self.net.groups[gi].clone();
        let az = i % AZS.len();
        let subnet = self.node_subnet(az);
        let instance = self.instance_ids.next("i-");
        let primary = self.add_eni(
            &subnet,
            group.sgs.clone(),
            "",
            "interface",
            Some((&instance, 0)),
            Tags::new(),
        );
        let ip = self
            .w
            .aws
            .enis
            .as_ref()
            .and_then(|m| m.get(&primary))
            .and_then(|e| e.private_ips.first().cloned())
            .unwrap_or_default();
        let hostname = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
        let itype = INSTANCE_TYPES[self.rng.below(INSTANCE_TYPES.len())];
        let inst = Instance {
            id: instance.clone(),
            private_ip: Some(ip.clone()),
            private_dns_name: Some(hostname.clone()),
            subnet_id: Some(subnet.clone()),
            vpc_id: Some(self.net.vpc.clone()),
            state: Some("running".into()),
            enis: vec![InstanceEni {
                id: primary,
                device_index: 0,
            }],
            security_groups: group.sgs.clone(),
            tags: tags(&[
                ("Name", &format!("{}-{}", self.cluster, group.name)),
                (&self.cluster_tag(), "owned"),
                ("eks:nodegroup-name", &group.name),
            ]),
        };
        if let Some(m) = self.w.aws.instances.as_mut() {
            m.insert(instance.clone(), inst);
        }
        let pod_eni = self.add_node_eni(&instance, 1).unwrap_or_default();
        let mut labels = tags(&[
            ("kubernetes.io/hostname", &hostname),
            ("kubernetes.io/os", "linux"),
            ("topology.kubernetes.io/zone", AZS[az]),
            ("node.kubernetes.io/instance-type", itype),
            ("eks.amazonaws.com/nodegroup", &group.name),
        ]);
        if group.excluded {
            labels.insert(
                "node.kubernetes.io/exclude-from-external-load-balancers".into(),
                String::new(),
            );
        }
        let node = Node {
            meta: Meta {
                name: hostname.clone(),
                uid: self.rng.uid(),
                resource_version: (1000 + i).to_string(),
                labels,
                ..Meta::default()
            },
            provider_id: Some(format!("aws:///{}/{instance}", AZS[az])),
            internal_ips: vec![ip],
            taints: Vec::new(),
            // a few nodes are always NotReady somewhere in a big cluster
            ready: !self.rng.chance(0.005),
        };
        if let Some(m) = self.w.kube.nodes.as_mut() {
            m.insert(hostname.clone(), node);
        }
        self.net.nodes.push(NodeRef {
            name: hostname,
            subnet,
            pod_eni,
            instance,
        });
    }
}
