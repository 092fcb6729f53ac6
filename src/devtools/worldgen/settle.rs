//! Settling: create what the LBC would have created for every stack, as the core computes it.
//!
//! Pass 1 asks [`desired`] for every stack's model and creates its managed SG (name, tags and
//! rules from the model), its load balancer with the model's SG list, the LB's ENIs, listeners,
//! target groups and TargetGroupBindings, and the object's status. Pass 2 asks again, now that
//! the LBs and managed SGs exist, and writes the target rules onto the target SGs.

use std::collections::{BTreeMap, BTreeSet};

use super::Gen;
use super::problems::ProblemKind;
use crate::core::desired::{StackState, desired};
use crate::core::lbc::model::{BACKEND_SG_TOKEN, Frontend, MANAGED_SG_TOKEN, StackId, StackModel};
use crate::core::lbc::target::TargetError;
use crate::world::{
    IntOrString, Listener, Meta, NetworkingPeer, ObjKey, Rule, TargetGroup, TargetGroupBinding,
    TargetHealth,
};

impl Gen {
    pub(super) fn settle(&mut self) -> Result<(), String> {
        let d = desired(&self.w);
        for s in d.stacks.values() {
            match &s.model {
                Ok(m) => self.create_stack(s, m),
                Err(e) if self.expects_error(&s.id) => {
                    let _ = e;
                }
                Err(e) => return Err(format!("generator bug: {} fails to build: {e}", s.id)),
            }
        }
        let d = desired(&self.w);
        let backend = self.net.backend_sg.clone();
        for s in d.stacks.values() {
            let (Some(arn), Ok(_)) = (&s.lb, &s.model) else {
                continue;
            };
            let want: BTreeSet<String> = s.lb_security_groups(&backend).into_iter().collect();
            let have: BTreeSet<String> = self
                .w
                .aws
                .load_balancers
                .as_ref()
                .and_then(|m| m.get(arn))
                .map(|lb| lb.security_groups.iter().cloned().collect())
                .unwrap_or_default();
            if want != have {
                return Err(format!(
                    "generator bug: {} wants SGs {want:?} but its LB has {have:?}",
                    s.id
                ));
            }
        }
        for t in &d.targets.tgbs {
            if let Err(e) = &t.result {
                let lbc = matches!(e, TargetError::Lbc(_));
                return Err(format!(
                    "generator bug: binding {} fails ({}): {e}",
                    t.key,
                    if lbc { "LBC error" } else { "unknown" }
                ));
            }
        }
        for (sg, rules) in &d.targets.per_sg {
            for r in rules {
                self.add_rule(sg, r.clone());
            }
        }
        Ok(())
    }

    /// Stacks planted to fail their model build.
    fn expects_error(&self, id: &StackId) -> bool {
        let subject = format!("{id}");
        self.planted
            .iter()
            .any(|p| p.kind == ProblemKind::UnresolvableSgName && p.subject == subject)
    }

    fn create_stack(&mut self, s: &StackState, m: &StackModel) {
        let managed = match &m.frontend {
            Frontend::Managed(ms) => {
                let tags = s.id.managed_sg_tags(&self.cluster, &ms.tags);
                let mut seen = BTreeSet::new();
                let rules: Vec<Rule> = ms
                    .ingress_rules
                    .iter()
                    .filter(|r| seen.insert(r.key()))
                    .cloned()
                    .collect();
                Some(self.add_sg(&ms.name, &ms.description, tags, rules))
            }
            _ => None,
        };
        let real = |tok: &str, backend: &str| -> String {
            match tok {
                MANAGED_SG_TOKEN => managed.clone().unwrap_or_default(),
                BACKEND_SG_TOKEN => backend.to_string(),
                other => other.to_string(),
            }
        };
        let backend = self.net.backend_sg.clone();
        let sgs: Vec<String> = m
            .lb_security_groups
            .iter()
            .map(|t| real(t, &backend))
            .collect();
        let alb = matches!(s.id, StackId::Ingress(_));
        let mut lb = match s
            .lb
            .as_ref()
            .and_then(|arn| self.w.aws.load_balancers.as_ref()?.get(arn))
        {
            Some(existing) => existing.clone(),
            None => self.new_lb(
                &s.id,
                if alb { "application" } else { "network" },
                &m.scheme,
                sgs.clone(),
            ),
        };
        lb.ip_address_type = m.ip_address_type.clone();
        // LB ENIs: one per subnet, carrying the LB's SGs
        let (kind, itype) = if alb {
            ("app", "interface")
        } else {
            ("net", "network_load_balancer")
        };
        let arn_tail = lb.arn.rsplit('/').next().unwrap_or_default().to_string();
        for subnet in lb.subnets.clone() {
            self.add_eni(
                &subnet,
                lb.security_groups.clone(),
                &format!("ELB {kind}/{}/{arn_tail}", lb.name),
                itype,
                None,
                Default::default(),
            );
        }
        // target groups, TGBs and listeners
        let mut tg_arns: BTreeMap<String, String> = BTreeMap::new();
        for (id, tg) in &m.target_groups {
            let hash = crate::core::lbc::naming::sha256_hex(&[&self.cluster, id]);
            let tg_name = format!(
                "k8s-{}-{}-{}",
                crate::core::lbc::naming::sanitize(&tg.service.namespace)
                    .chars()
                    .take(8)
                    .collect::<String>(),
                crate::core::lbc::naming::sanitize(&tg.service.name)
                    .chars()
                    .take(8)
                    .collect::<String>(),
                &hash[..10]
            );
            let suffix = self.arn_suffix();
            let arn = format!(
                "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{tg_name}/{suffix}",
                self.region, self.account
            );
            let port = match &tg.port {
                IntOrString::Int(p) => Some(*p),
                IntOrString::Str(_) => None,
            };
            let group = TargetGroup {
                arn: arn.clone(),
                name: tg_name.clone(),
                protocol: Some(tg.protocol.clone()),
                port,
                target_type: tg.target_type.clone(),
                vpc_id: Some(self.net.vpc.clone()),
                load_balancer_arns: vec![lb.arn.clone()],
                health_check_port: Some(tg.health_check_port.clone()),
                health_check_protocol: Some(if alb { "HTTP" } else { "TCP" }.into()),
                ip_address_type: Some(tg.ip_address_type.clone()),
                tags: s.id.resource_tags(&self.cluster, id, &Default::default()),
            };
            if tg.target_type == "ip" {
                self.healthy_ip_targets(&arn, &tg.service, port);
            }
            if let Some(map) = self.w.aws.target_groups.as_mut() {
                map.insert(arn.clone(), group);
            }
            let networking = m.tgb_networking.get(id).cloned().flatten().map(|rules| {
                rules
                    .into_iter()
                    .map(|mut r| {
                        for p in &mut r.from {
                            if let NetworkingPeer::SecurityGroup(sg) = p {
                                *sg = real(sg, &backend);
                            }
                        }
                        r
                    })
                    .collect()
            });
            let tgb = TargetGroupBinding {
                meta: Meta {
                    namespace: tg.service.namespace.clone(),
                    name: tg_name.clone(),
                    uid: self.rng.uid(),
                    resource_version: (200_000 + self.rng.below(800_000)).to_string(),
                    labels: s.id.labels(),
                    finalizers: vec!["elbv2.k8s.aws/resources".into()],
                    ..Meta::default()
                },
                target_group_arn: arn.clone(),
                target_type: Some(tg.target_type.clone()),
                service_name: tg.service.name.clone(),
                service_port: tg.service_port.clone(),
                networking,
                node_selector: tg.node_selector.clone(),
                ip_address_type: Some(tg.ip_address_type.clone()),
            };
            if let Some(map) = self.w.kube.target_group_bindings.as_mut() {
                map.insert(ObjKey::new(tg.service.namespace.clone(), tg_name), tgb);
            }
            tg_arns.insert(id.clone(), arn);
        }
        for (port, protocol) in &m.listeners {
            // NLB listeners forward to the TG of their port; ALB listeners route by rules
            let tgs: Vec<String> = match &s.id {
                StackId::Service(k) => tg_arns
                    .get(&format!("{}/{}:{port}", k.namespace, k.name))
                    .cloned()
                    .into_iter()
                    .collect(),
                StackId::Ingress(_) => Vec::new(),
            };
            let suffix = self.arn_suffix();
            let arn = format!(
                "arn:aws:elasticloadbalancing:{}:{}:listener/{kind}/{}/{arn_tail}/{suffix}",
                self.region, self.account, lb.name
            );
            if let Some(map) = self.w.aws.listeners.as_mut() {
                map.insert(
                    arn.clone(),
                    Listener {
                        arn,
                        load_balancer_arn: lb.arn.clone(),
                        port: *port,
                        protocol: protocol.clone(),
                        target_group_arns: tgs,
                    },
                );
            }
        }
        // status: the object shows the LB's DNS name
        let dns = vec![lb.dns_name.clone()];
        for r in &s.resources {
            match r {
                crate::core::plan::ResourceRef::Service(k) => {
                    if let Some(svc) = self.w.kube.services.as_mut().and_then(|m| m.get_mut(k)) {
                        svc.lb_hostnames = dns.clone();
                    }
                }
                crate::core::plan::ResourceRef::Ingress(k) => {
                    if let Some(ing) = self.w.kube.ingresses.as_mut().and_then(|m| m.get_mut(k)) {
                        ing.lb_hostnames = dns.clone();
                    }
                }
            }
        }
        if let Some(map) = self.w.aws.load_balancers.as_mut() {
            map.insert(lb.arn.clone(), lb);
        }
    }

    /// Target health of an ip target group: each pod behind the Service, healthy.
    fn healthy_ip_targets(&mut self, tg_arn: &str, svc: &ObjKey, port: Option<i32>) {
        let pods: Vec<String> = self
            .w
            .kube
            .pods
            .iter()
            .flat_map(|m| m.values())
            .filter(|p| {
                p.meta.namespace == svc.namespace && p.meta.labels.get("app") == Some(&svc.name)
            })
            .filter_map(|p| p.pod_ips.first().cloned())
            .collect();
        let health = pods
            .into_iter()
            .map(|ip| TargetHealth {
                id: ip,
                port,
                availability_zone: None,
                health_check_port: None,
                state: "healthy".into(),
                reason: None,
                description: None,
            })
            .collect();
        if let Some(m) = self.w.aws.target_health.as_mut() {
            m.insert(tg_arn.to_string(), health);
        }
    }
}
