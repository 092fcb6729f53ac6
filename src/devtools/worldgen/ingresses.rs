//! Ingresses: the IngressClasses and their params, Ingresses alone and in groups (with their
//! share of the ALB's target quota), and the backend Services behind them.

use std::collections::BTreeMap;

use super::Gen;
use super::quota::{TARGETS_PER_ALB, TARGETS_PER_TG};
use super::workloads::{ING, INTERNAL_CLASS, MAX_BACKEND_REPLICAS};
use crate::world::{
    Ingress, IngressBackend, IngressClass, IngressClassParams, IngressPath, IngressRule,
    IntOrString, Meta, ObjKey, Service, ServicePort, ServiceSpec,
};

impl Gen {
    pub(super) fn ingress_classes(&mut self) {
        let alb = IngressClass {
            meta: Meta {
                name: "alb".into(),
                uid: self.rng.uid(),
                ..Meta::default()
            },
            controller: "ingress.k8s.aws/alb".into(),
            params_name: None,
            is_default: false,
        };
        let internal = IngressClass {
            meta: Meta {
                name: INTERNAL_CLASS.into(),
                uid: self.rng.uid(),
                ..Meta::default()
            },
            controller: "ingress.k8s.aws/alb".into(),
            params_name: Some(INTERNAL_CLASS.into()),
            is_default: false,
        };
        let params = IngressClassParams {
            meta: Meta {
                name: INTERNAL_CLASS.into(),
                uid: self.rng.uid(),
                ..Meta::default()
            },
            scheme: Some("internal".into()),
            inbound_cidrs: vec!["10.0.0.0/8".into()],
            ..IngressClassParams::default()
        };
        if let Some(m) = self.w.kube.ingress_classes.as_mut() {
            m.insert(alb.meta.name.clone(), alb);
            m.insert(internal.meta.name.clone(), internal);
        }
        if let Some(m) = self.w.kube.ingress_class_params.as_mut() {
            m.insert(params.meta.name.clone(), params);
        }
    }

    /// Ingresses: about 60% alone (implicit groups), the rest in explicit groups of 2–5 that
    /// share one ALB across namespaces. Group-wide settings are the same on every member.
    pub(super) fn ingresses(&mut self, namespaces: &[String]) {
        let total = self.spec.counts.ingresses;
        let mut i = 0;
        let mut group_no = 0;
        while i < total {
            let size = if total - i >= 2 && self.rng.chance(0.4) {
                self.rng.range(2, 5).min(total - i)
            } else {
                1
            };
            let group = (size > 1).then(|| {
                group_no += 1;
                format!("shared-alb-{group_no}")
            });
            let internal_class = self.rng.chance(0.2);
            let internet = !internal_class && self.rng.chance(0.5);
            let https = self.rng.chance(0.7);
            let custom = self.rng.chance(0.15);
            let cidrs = (internet && self.rng.chance(0.3)).then(|| self.public_cidrs(2).join(","));
            let custom_ns = namespaces[self.rng.below(namespaces.len())].clone();
            let custom_sg = custom.then(|| self.custom_sg(&custom_ns));
            let cert = format!(
                "arn:aws:acm:{}:{}:certificate/{}",
                self.region,
                self.account,
                self.rng.uid()
            );
            let mut alb_budget = TARGETS_PER_ALB;
            for order in 0..size {
                let ns = namespaces[self.rng.below(namespaces.len())].clone();
                let name = format!(
                    "{}-{i}",
                    ["web", "portal", "api", "admin", "docs"][self.rng.below(5)]
                );
                let mut a = BTreeMap::new();
                if !internal_class {
                    let scheme = if internet {
                        "internet-facing"
                    } else {
                        "internal"
                    };
                    a.insert(format!("{ING}scheme"), scheme.to_string());
                }
                if https {
                    a.insert(
                        format!("{ING}listen-ports"),
                        r#"[{"HTTP": 80}, {"HTTPS": 443}]"#.to_string(),
                    );
                    a.insert(format!("{ING}certificate-arn"), cert.clone());
                }
                if let Some(c) = &cidrs {
                    a.insert(format!("{ING}inbound-cidrs"), c.clone());
                }
                if let Some(sg) = &custom_sg {
                    a.insert(format!("{ING}security-groups"), sg.clone());
                    a.insert(
                        format!("{ING}manage-backend-security-group-rules"),
                        "true".into(),
                    );
                }
                if let Some(g) = &group {
                    a.insert(format!("{ING}group.name"), g.clone());
                    a.insert(format!("{ING}group.order"), (order * 10).to_string());
                }
                let mut ip = self.rng.chance(0.5);
                let mut backends = self.rng.range(1, 2);
                if !ip {
                    // the members left share what is left of the ALB's targets
                    let share = (alb_budget / (size - order)).min(TARGETS_PER_TG);
                    let fits = |nodes: usize| nodes * backends <= share;
                    let mut per_backend = self.net.nodes.len();
                    if let Some(labels) = self.node_pool(fits) {
                        a.insert(format!("{ING}target-node-labels"), labels);
                        per_backend = self.pool_size();
                        if per_backend * backends > share {
                            backends = 1;
                        }
                    }
                    if per_backend * backends > share {
                        // not even one node group fits: pods it is
                        a.remove(&format!("{ING}target-node-labels"));
                        ip = true;
                    } else {
                        alb_budget -= per_backend * backends;
                    }
                }
                if ip {
                    alb_budget = alb_budget.saturating_sub(backends * MAX_BACKEND_REPLICAS);
                }
                a.insert(
                    format!("{ING}target-type"),
                    if ip { "ip" } else { "instance" }.to_string(),
                );
                let mut meta = self.meta(&ns, &name);
                meta.annotations = a;
                meta.finalizers = vec![match &group {
                    Some(g) => format!("group.ingress.k8s.aws/{g}"),
                    None => "ingress.k8s.aws/resources".to_string(),
                }];
                let mut paths = Vec::new();
                for b in 0..backends {
                    let svc = format!("{name}-svc-{b}");
                    self.backend_service(&ns, &svc, ip);
                    paths.push(IngressPath {
                        path: Some(if b == 0 { "/".into() } else { format!("/v{b}") }),
                        backend: IngressBackend {
                            service_name: svc,
                            service_port: IntOrString::Str("http".into()),
                        },
                    });
                }
                let ing = Ingress {
                    meta,
                    ingress_class_name: Some(
                        if internal_class {
                            INTERNAL_CLASS
                        } else {
                            "alb"
                        }
                        .into(),
                    ),
                    default_backend: None,
                    rules: vec![IngressRule {
                        host: Some(format!("{name}.{ns}.example.com")),
                        paths,
                    }],
                    tls_hosts: Vec::new(),
                    lb_hostnames: Vec::new(),
                };
                if let Some(m) = self.w.kube.ingresses.as_mut() {
                    m.insert(ObjKey::new(ns, name), ing);
                }
                i += 1;
            }
        }
    }

    /// A Service behind an Ingress: ClusterIP with pods for ip targets, NodePort for instance.
    fn backend_service(&mut self, ns: &str, name: &str, ip: bool) {
        let meta = self.meta(ns, name);
        let node_port = (!ip).then(|| self.node_port());
        let spec = ServiceSpec {
            type_: if ip { "ClusterIP" } else { "NodePort" }.into(),
            selector: BTreeMap::from([("app".to_string(), name.to_string())]),
            ports: vec![ServicePort {
                name: Some("http".into()),
                protocol: Some("TCP".into()),
                port: 80,
                target_port: Some(IntOrString::Int(8080)),
                node_port,
            }],
            ..ServiceSpec::default()
        };
        if let Some(m) = self.w.kube.services.as_mut() {
            m.insert(
                ObjKey::new(ns, name),
                Service {
                    meta,
                    spec,
                    lb_hostnames: Vec::new(),
                },
            );
        }
        if ip {
            let replicas = self.rng.range(2, MAX_BACKEND_REPLICAS);
            self.pods(ns, name, replicas, &[("http".into(), 8080, "TCP".into())]);
        }
    }
}
