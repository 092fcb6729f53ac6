//! The LBC's CRDs (`elbv2.k8s.aws/v1beta1`): IngressClassParams (cluster-scoped) and
//! TargetGroupBinding (namespaced), read as `DynamicObject`s and converted through small serde
//! views of their specs. A cluster without the CRDs is normal: the list answers 404 and the
//! section stays unknown with a note (see `watch`).

use std::collections::BTreeMap;

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde::Deserialize;

use super::convert::{ELBV2_GROUP, meta};
use crate::world::kube::*;

const VERSION: &str = "v1beta1";

pub fn ingress_class_params_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(ELBV2_GROUP, VERSION, "IngressClassParams"),
        "ingressclassparams",
    )
}

pub fn target_group_binding_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(ELBV2_GROUP, VERSION, "TargetGroupBinding"),
        "targetgroupbindings",
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ParamsSpec {
    namespace_selector: Option<serde_json::Value>,
    group: Option<NameRef>,
    scheme: Option<String>,
    #[serde(rename = "inboundCIDRs")]
    inbound_cidrs: Vec<String>,
    ip_address_type: Option<String>,
    tags: Vec<KeyValue>,
    target_type: Option<String>,
    certificate_arn: Vec<String>,
    #[serde(rename = "prefixListsIDs")]
    prefix_lists_ids: Vec<String>,
    /// The legacy capitalised spelling, still honoured by the LBC when the new one is empty.
    #[serde(rename = "PrefixListsIDs")]
    prefix_lists_ids_legacy: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NameRef {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyValue {
    key: String,
    value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TgbSpec {
    #[serde(rename = "targetGroupARN")]
    target_group_arn: String,
    target_type: Option<String>,
    service_ref: ServiceRef,
    networking: Option<Networking>,
    node_selector: Option<LabelSelector>,
    ip_address_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ServiceRef {
    name: String,
    port: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Networking {
    ingress: Vec<NetRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NetRule {
    from: Vec<Peer>,
    ports: Vec<NetPort>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Peer {
    ip_block: Option<Cidr>,
    security_group: Option<GroupId>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Cidr {
    cidr: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GroupId {
    #[serde(rename = "groupID")]
    group_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NetPort {
    protocol: Option<String>,
    port: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LabelSelector {
    match_labels: BTreeMap<String, String>,
}

/// `int-or-string` from JSON: a number is a port, anything else a port name.
fn int_or_string(v: &serde_json::Value) -> IntOrString {
    match v {
        serde_json::Value::Number(n) => IntOrString::Int(
            n.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .unwrap_or_default(),
        ),
        serde_json::Value::String(s) => IntOrString::Str(s.clone()),
        other => IntOrString::Str(other.to_string()),
    }
}

fn spec<T: for<'de> Deserialize<'de> + Default>(obj: &DynamicObject) -> Result<T, String> {
    match obj.data.get("spec") {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(s) => serde_json::from_value(s.clone()).map_err(|e| e.to_string()),
    }
}

pub fn ingress_class_params(obj: &DynamicObject) -> Result<IngressClassParams, String> {
    let s: ParamsSpec = spec(obj)?;
    Ok(IngressClassParams {
        meta: meta(&obj.metadata),
        group_name: s.group.map(|g| g.name),
        scheme: s.scheme,
        ip_address_type: s.ip_address_type,
        target_type: s.target_type,
        inbound_cidrs: s.inbound_cidrs,
        // The legacy spelling only counts when the new one is empty (the core's rule), so the
        // two are folded here as the world-file reader does.
        prefix_list_ids: if s.prefix_lists_ids.is_empty() {
            s.prefix_lists_ids_legacy
        } else {
            s.prefix_lists_ids
        },
        prefix_list_ids_legacy: Vec::new(),
        tags: s.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        certificate_arns: s.certificate_arn,
        namespace_selector: s.namespace_selector.is_some_and(|v| !v.is_null()),
    })
}

pub fn target_group_binding(obj: &DynamicObject) -> Result<TargetGroupBinding, String> {
    let s: TgbSpec = spec(obj)?;
    let networking = s.networking.map(|n| {
        n.ingress
            .into_iter()
            .map(|r| NetworkingRule {
                from: r
                    .from
                    .into_iter()
                    .map(|p| match (p.security_group, p.ip_block) {
                        (Some(sg), _) => NetworkingPeer::SecurityGroup(sg.group_id),
                        (None, Some(b)) => NetworkingPeer::IpBlock(b.cidr),
                        (None, None) => NetworkingPeer::Empty,
                    })
                    .collect(),
                ports: r
                    .ports
                    .into_iter()
                    .map(|p| NetworkingPort {
                        protocol: p.protocol,
                        port: p.port.as_ref().map(int_or_string),
                    })
                    .collect(),
            })
            .collect()
    });
    Ok(TargetGroupBinding {
        meta: meta(&obj.metadata),
        target_group_arn: s.target_group_arn,
        target_type: s.target_type,
        service_name: s.service_ref.name,
        service_port: s
            .service_ref
            .port
            .as_ref()
            .map(int_or_string)
            .unwrap_or_default(),
        networking,
        node_selector: s.node_selector.map(|n| n.match_labels).unwrap_or_default(),
        ip_address_type: s.ip_address_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn resources_name_the_v1beta1_crds() {
        let r = ingress_class_params_resource();
        assert_eq!(
            (r.api_version.as_str(), r.plural.as_str()),
            ("elbv2.k8s.aws/v1beta1", "ingressclassparams")
        );
        assert_eq!(
            target_group_binding_resource().plural,
            "targetgroupbindings"
        );
    }

    #[test]
    fn params_prefer_new_prefix_list_spelling() {
        let p = ingress_class_params(&obj(json!({
            "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
            "metadata": {"name": "p"},
            "spec": {"group": {"name": "g"}, "scheme": "internal", "inboundCIDRs": ["10.0.0.0/8"],
                     "tags": [{"key": "team", "value": "a"}], "namespaceSelector": {"matchLabels": {"a": "b"}},
                     "prefixListsIDs": ["pl-new"], "PrefixListsIDs": ["pl-old"], "certificateArn": ["arn:c"]}
        })))
        .unwrap();
        assert_eq!(p.group_name.as_deref(), Some("g"));
        assert_eq!(p.prefix_list_ids, vec!["pl-new"]);
        assert_eq!(p.tags.get("team").map(String::as_str), Some("a"));
        assert!(p.namespace_selector);
        let legacy = ingress_class_params(&obj(json!({
            "metadata": {"name": "p"}, "spec": {"PrefixListsIDs": ["pl-old"]}
        })))
        .unwrap();
        assert_eq!(legacy.prefix_list_ids, vec!["pl-old"]);
        assert!(!legacy.namespace_selector);
    }

    #[test]
    fn tgb_networking_peers_and_ports() {
        let t = target_group_binding(&obj(json!({
            "metadata": {"name": "t", "namespace": "n"},
            "spec": {"targetGroupARN": "arn:tg", "targetType": "ip",
                     "serviceRef": {"name": "web", "port": "http"},
                     "nodeSelector": {"matchLabels": {"pool": "a"}},
                     "networking": {"ingress": [{
                         "from": [{"securityGroup": {"groupID": "sg-1"}}, {"ipBlock": {"cidr": "10.0.0.0/8"}}, {}],
                         "ports": [{"protocol": "TCP", "port": 8080}, {"port": "http"}, {}]
                     }]}}
        })))
        .unwrap();
        assert_eq!(t.service_port, IntOrString::Str("http".into()));
        let rule = &t.networking.as_ref().unwrap()[0];
        assert_eq!(
            rule.from,
            vec![
                NetworkingPeer::SecurityGroup("sg-1".into()),
                NetworkingPeer::IpBlock("10.0.0.0/8".into()),
                NetworkingPeer::Empty
            ]
        );
        assert_eq!(rule.ports[0].port, Some(IntOrString::Int(8080)));
        assert_eq!(rule.ports[2].port, None);
        assert_eq!(t.node_selector.get("pool").map(String::as_str), Some("a"));
        let bare = target_group_binding(&obj(json!({
            "metadata": {"name": "t", "namespace": "n"},
            "spec": {"targetGroupARN": "arn:tg", "serviceRef": {"name": "web", "port": 80}}
        })))
        .unwrap();
        assert_eq!(
            bare.networking, None,
            "no networking block is not an empty one"
        );
    }
}
