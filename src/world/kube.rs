//! The cluster side of the world, trimmed to the fields lbsg uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Section;

/// `namespace/name` (cluster-scoped objects use an empty namespace).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjKey {
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for ObjKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// The metadata fields lbsg reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub finalizers: Vec<String>,
    pub deleting: bool,
    /// Field managers that own `metadata.annotations` entries (from managedFields), by annotation key.
    pub annotation_managers: BTreeMap<String, Vec<String>>,
}

impl Meta {
    pub fn key(&self) -> ObjKey {
        ObjKey::new(self.namespace.clone(), self.name.clone())
    }
}

/// An `int-or-string` port reference (`targetPort`, backend ports).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i32),
    Str(String),
}

impl Default for IntOrString {
    fn default() -> Self {
        IntOrString::Int(0)
    }
}

impl std::fmt::Display for IntOrString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::Str(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePort {
    pub name: Option<String>,
    /// `TCP`, `UDP`, `SCTP`; `None` when the object left it unset.
    pub protocol: Option<String>,
    pub port: i32,
    pub target_port: Option<IntOrString>,
    pub node_port: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub type_: String,
    pub load_balancer_class: Option<String>,
    pub external_traffic_policy: Option<String>,
    pub health_check_node_port: Option<i32>,
    pub ip_families: Vec<String>,
    pub load_balancer_source_ranges: Vec<String>,
    pub ports: Vec<ServicePort>,
    pub selector: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub meta: Meta,
    pub spec: ServiceSpec,
    /// `status.loadBalancer.ingress[].hostname` (or `.ip`).
    pub lb_hostnames: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressBackend {
    pub service_name: String,
    pub service_port: IntOrString,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressPath {
    pub path: Option<String>,
    pub backend: IngressBackend,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressRule {
    pub host: Option<String>,
    pub paths: Vec<IngressPath>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingress {
    pub meta: Meta,
    pub ingress_class_name: Option<String>,
    pub default_backend: Option<IngressBackend>,
    pub rules: Vec<IngressRule>,
    pub tls_hosts: Vec<String>,
    pub lb_hostnames: Vec<String>,
}

impl Ingress {
    /// Every backend the Ingress references, default backend first, in document order.
    pub fn backends(&self) -> impl Iterator<Item = &IngressBackend> {
        self.default_backend.iter().chain(
            self.rules
                .iter()
                .flat_map(|r| r.paths.iter().map(|p| &p.backend)),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressClass {
    pub meta: Meta,
    pub controller: String,
    /// `spec.parameters` when it points at an IngressClassParams (`elbv2.k8s.aws`).
    pub params_name: Option<String>,
    pub is_default: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressClassParams {
    pub meta: Meta,
    pub group_name: Option<String>,
    pub scheme: Option<String>,
    pub ip_address_type: Option<String>,
    pub target_type: Option<String>,
    pub inbound_cidrs: Vec<String>,
    /// `spec.prefixListsIDs`.
    pub prefix_list_ids: Vec<String>,
    /// The legacy `spec.PrefixListsIDs` field; used only when `prefix_list_ids` is empty.
    pub prefix_list_ids_legacy: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub certificate_arns: Vec<String>,
    pub namespace_selector: bool,
}

/// One peer of a TGB networking rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum NetworkingPeer {
    SecurityGroup(String),
    IpBlock(String),
    /// Neither field set (the LBC rejects it).
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetworkingPort {
    /// `TCP` / `UDP`; `None` = TCP.
    pub protocol: Option<String>,
    /// `None` = all ports.
    pub port: Option<IntOrString>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetworkingRule {
    pub from: Vec<NetworkingPeer>,
    pub ports: Vec<NetworkingPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupBinding {
    pub meta: Meta,
    pub target_group_arn: String,
    pub target_type: Option<String>,
    pub service_name: String,
    pub service_port: IntOrString,
    /// `spec.networking.ingress`; `None` when the TGB has no networking block.
    pub networking: Option<Vec<NetworkingRule>>,
    pub node_selector: BTreeMap<String, String>,
    pub ip_address_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub meta: Meta,
    /// `spec.providerID`, e.g. `aws:///us-east-1a/i-0abc`.
    pub provider_id: Option<String>,
    pub internal_ips: Vec<String>,
    pub taints: Vec<Taint>,
    pub ready: bool,
}

impl Node {
    /// The EC2 instance id from the provider id.
    pub fn instance_id(&self) -> Option<&str> {
        self.provider_id
            .as_deref()
            .and_then(|p| p.rsplit('/').next())
            .filter(|id| id.starts_with("i-"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub container_port: i32,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    pub meta: Meta,
    pub node_name: Option<String>,
    pub pod_ips: Vec<String>,
    pub ports: Vec<ContainerPort>,
    pub ready: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub addresses: Vec<String>,
    pub ready: bool,
    pub node_name: Option<String>,
    pub pod: Option<ObjKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointPort {
    pub name: Option<String>,
    pub port: Option<i32>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSlice {
    pub meta: Meta,
    /// Label `kubernetes.io/service-name`.
    pub service_name: Option<String>,
    pub address_type: String,
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub meta: Meta,
    pub involved_kind: String,
    pub involved: ObjKey,
    pub reason: String,
    pub message: String,
    pub type_: String,
    pub count: i32,
    pub last_timestamp: Option<String>,
}

/// The cluster side. Each collection is keyed by `namespace/name` and `None` when not loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeSide {
    pub services: Section<BTreeMap<ObjKey, Service>>,
    pub ingresses: Section<BTreeMap<ObjKey, Ingress>>,
    pub ingress_classes: Section<BTreeMap<String, IngressClass>>,
    pub ingress_class_params: Section<BTreeMap<String, IngressClassParams>>,
    pub target_group_bindings: Section<BTreeMap<ObjKey, TargetGroupBinding>>,
    pub nodes: Section<BTreeMap<String, Node>>,
    pub pods: Section<BTreeMap<ObjKey, Pod>>,
    pub endpoint_slices: Section<BTreeMap<ObjKey, EndpointSlice>>,
    pub events: Section<Vec<Event>>,
}
