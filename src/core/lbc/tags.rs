//! Tags of the SGs the LBC manages (lbc-semantics §5.2, §10): the model tags a Service or an
//! IngressGroup asks for, the tracking tags added at deploy time, and the tag sync that makes an
//! existing SG's tags equal to the desired set.

use std::collections::BTreeMap;

use super::annotations::{Annotations, Kind};
use crate::world::{ControllerConfig, IngressClassParams, ObjKey, Tags};

/// Tag every LBC-created resource carries: the cluster name.
pub const TAG_CLUSTER: &str = "elbv2.k8s.aws/cluster";
/// Tag that marks the shared backend SG (value [`BACKEND_SG_RESOURCE`]).
pub const TAG_RESOURCE: &str = "elbv2.k8s.aws/resource";
pub const BACKEND_SG_RESOURCE: &str = "backend-sg";
/// Resource id of the managed frontend SG in a stack.
pub const MANAGED_SG_RESOURCE_ID: &str = "ManagedLBSecurityGroup";

/// The resource tag key by which `sg` is a load balancer SG the LBC created and manages
/// (`service.k8s.aws/resource` or `ingress.k8s.aws/resource` = `ManagedLBSecurityGroup`).
pub fn managed_lb_sg_key(sg: &crate::world::SecurityGroup) -> Option<&'static str> {
    ["service.k8s.aws/resource", "ingress.k8s.aws/resource"]
        .into_iter()
        .find(|k| sg.tags.get(*k).map(String::as_str) == Some(MANAGED_SG_RESOURCE_ID))
}
/// Cluster tag of the pre-LBC ALB ingress controller, still recognised on discovery.
pub const LEGACY_CLUSTER_TAG: &str = "ingress.k8s.aws/cluster";
/// Keys starting with this are AWS-reserved and never added or removed.
pub const AWS_SYSTEM_PREFIX: &str = "aws:";

const GATE_DEFAULT_TAGS_LOW_PRIORITY: &str = "EnableDefaultTagsLowPriority";
const SVC_ADDITIONAL_TAGS: &str = "aws-load-balancer-additional-resource-tags";
const ING_TAGS: &str = "tags";

/// Merge maps in order; on a repeated key the first map's value is kept.
pub fn merge_first_wins(maps: &[&Tags]) -> Tags {
    let mut out = Tags::new();
    for m in maps {
        for (k, v) in *m {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

/// Add `--default-tags`: they win on conflicts unless gate `EnableDefaultTagsLowPriority`.
pub fn with_default_tags(cfg: &ControllerConfig, tags: &Tags) -> Tags {
    if cfg.feature_gates.enabled(GATE_DEFAULT_TAGS_LOW_PRIORITY) {
        merge_first_wins(&[tags, &cfg.default_tags])
    } else {
        merge_first_wins(&[&cfg.default_tags, tags])
    }
}

fn reject_external_managed(cfg: &ControllerConfig, tags: &Tags) -> Result<(), String> {
    match tags
        .keys()
        .find(|k| cfg.external_managed_tags.iter().any(|e| e == *k))
    {
        Some(k) => Err(format!("external managed tag key {k} cannot be specified")),
        None => Ok(()),
    }
}

/// A Service's resource tags: `aws-load-balancer-additional-resource-tags` plus `--default-tags`.
/// Used for the NLB, its target groups and the managed SG.
pub fn service_resource_tags(
    cfg: &ControllerConfig,
    annotations: &BTreeMap<String, String>,
) -> Result<Tags, String> {
    let ann = Annotations::new(Kind::Service, annotations);
    let tags = ann.string_map(SVC_ADDITIONAL_TAGS)?.unwrap_or_default();
    reject_external_managed(cfg, &tags).map_err(|e| format!("{e} on Service"))?;
    Ok(with_default_tags(cfg, &tags))
}

/// Model tags of a Service's managed SG (§5.2).
pub fn service_sg_tags(
    cfg: &ControllerConfig,
    annotations: &BTreeMap<String, String>,
) -> Result<Tags, String> {
    // The LBC applies the default-tag merge a second time here; it is idempotent.
    Ok(with_default_tags(
        cfg,
        &service_resource_tags(cfg, annotations)?,
    ))
}

/// One Ingress of a group, as far as tags are concerned.
#[derive(Debug, Clone, Copy)]
pub struct IngressMember<'a> {
    pub key: &'a ObjKey,
    pub annotations: &'a BTreeMap<String, String>,
    /// The IngressClassParams of the member's class, if any.
    pub class_params: Option<&'a IngressClassParams>,
}

/// Tags set by an IngressClassParams (`spec.tags`).
pub fn ingress_class_params_tags(
    cfg: &ControllerConfig,
    params: Option<&IngressClassParams>,
) -> Result<Tags, String> {
    let Some(p) = params.filter(|p| !p.tags.is_empty()) else {
        return Ok(Tags::new());
    };
    reject_external_managed(cfg, &p.tags).map_err(|e| {
        format!(
            "failed build tags for IngressClassParams {}: {e}",
            p.meta.name
        )
    })?;
    Ok(p.tags.clone())
}

/// One member's tags: IngressClassParams tags win over the member's `tags` annotation.
pub fn ingress_member_tags(
    cfg: &ControllerConfig,
    member: &IngressMember<'_>,
) -> Result<Tags, String> {
    let ann = Annotations::new(Kind::Ingress, member.annotations);
    let tags = ann.string_map(ING_TAGS)?.unwrap_or_default();
    reject_external_managed(cfg, &tags)
        .map_err(|e| format!("failed build tags for Ingress {}: {e}", member.key))?;
    let class_tags = ingress_class_params_tags(cfg, member.class_params)?;
    Ok(merge_first_wins(&[&class_tags, &tags]))
}

/// Tags shared by the group's resources: members merged, a key with two values is an error.
pub fn ingress_group_tags(
    cfg: &ControllerConfig,
    members: &[IngressMember<'_>],
) -> Result<Tags, String> {
    let mut out = Tags::new();
    for m in members {
        for (k, v) in ingress_member_tags(cfg, m)? {
            match out.get(&k) {
                Some(prev) if *prev != v => {
                    return Err(format!("conflicting tag {k}: {prev} | {v}"));
                }
                _ => {
                    out.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

/// Model tags of an IngressGroup's managed SG (§5.2).
pub fn ingress_sg_tags(
    cfg: &ControllerConfig,
    members: &[IngressMember<'_>],
) -> Result<Tags, String> {
    Ok(with_default_tags(cfg, &ingress_group_tags(cfg, members)?))
}

/// Tags of an Ingress backend's target group: the Service's `tags` annotation wins over the
/// Ingress's, IngressClassParams tags win over both. (`--default-tags` are added by the caller's
/// resource builder, as for every resource.)
pub fn ingress_backend_tags(
    cfg: &ControllerConfig,
    member: &IngressMember<'_>,
    service: &ObjKey,
    service_annotations: &BTreeMap<String, String>,
) -> Result<Tags, String> {
    let svc_tags = Annotations::new(Kind::Ingress, service_annotations)
        .string_map(ING_TAGS)?
        .unwrap_or_default();
    let ing_tags = Annotations::new(Kind::Ingress, member.annotations)
        .string_map(ING_TAGS)?
        .unwrap_or_default();
    let merged = merge_first_wins(&[&svc_tags, &ing_tags]);
    reject_external_managed(cfg, &merged).map_err(|e| {
        format!(
            "failed build tags for Ingress {} and Service {service}: {e}",
            member.key
        )
    })?;
    let class_tags = ingress_class_params_tags(cfg, member.class_params)?;
    Ok(merge_first_wins(&[&class_tags, &merged]))
}

/// The stack a managed resource belongs to (defined with the model); the tag methods live here.
pub use super::model::StackId as Stack;

impl Stack {
    pub fn tag_prefix(&self) -> &'static str {
        match self {
            Stack::Service(_) => "service.k8s.aws",
            Stack::Ingress(_) => "ingress.k8s.aws",
        }
    }

    /// `ns/name` for Services and implicit groups, the group name for explicit groups.
    pub fn stack_id(&self) -> String {
        match self {
            Stack::Service(k) => format!("{}/{}", k.namespace, k.name),
            Stack::Ingress(g) => g.stack_id(),
        }
    }

    /// `<prefix>/stack`.
    pub fn stack_key(&self) -> String {
        format!("{}/stack", self.tag_prefix())
    }

    /// `<prefix>/resource`.
    pub fn resource_key(&self) -> String {
        format!("{}/resource", self.tag_prefix())
    }

    /// Tags that find this stack's resources.
    pub fn stack_tags(&self, cluster: &str) -> Tags {
        Tags::from([
            (TAG_CLUSTER.to_string(), cluster.to_string()),
            (self.stack_key(), self.stack_id()),
        ])
    }

    /// The same with the legacy cluster key (resources created by the old ALB ingress controller).
    pub fn legacy_stack_tags(&self, cluster: &str) -> Tags {
        Tags::from([
            (LEGACY_CLUSTER_TAG.to_string(), cluster.to_string()),
            (self.stack_key(), self.stack_id()),
        ])
    }

    /// Deployed tags of one resource: stack tags, then the resource id, then the model tags;
    /// earlier ones win, so a model tag can never override a tracking tag.
    pub fn resource_tags(&self, cluster: &str, resource_id: &str, model_tags: &Tags) -> Tags {
        let resource = Tags::from([(self.resource_key(), resource_id.to_string())]);
        merge_first_wins(&[&self.stack_tags(cluster), &resource, model_tags])
    }

    /// Deployed tags of the stack's managed SG.
    pub fn managed_sg_tags(&self, cluster: &str, model_tags: &Tags) -> Tags {
        self.resource_tags(cluster, MANAGED_SG_RESOURCE_ID, model_tags)
    }
}

/// Tag keys of the old ALB ingress controller that the LBC leaves in place on its resources.
pub fn legacy_tag_keys(cluster: &str) -> Vec<String> {
    [
        format!("kubernetes.io/cluster/{cluster}").as_str(),
        "kubernetes.io/cluster-name",
        "kubernetes.io/namespace",
        "kubernetes.io/ingress-name",
        "kubernetes.io/service-name",
        "kubernetes.io/service-port",
        LEGACY_CLUSTER_TAG,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// What a tag sync does: `CreateTags` with `create` (new or changed values), `DeleteTags` with
/// `delete` (the current values of keys no longer desired).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagDiff {
    pub create: Tags,
    pub delete: Tags,
}

impl TagDiff {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.delete.is_empty()
    }
}

/// Make `current` equal to `desired`, never touching `aws:` keys nor `ignored` keys.
pub fn diff_tags(desired: &Tags, current: &Tags, ignored: &[String]) -> TagDiff {
    let keep = |k: &String| !k.starts_with(AWS_SYSTEM_PREFIX) && !ignored.contains(k);
    TagDiff {
        create: desired
            .iter()
            .filter(|(k, v)| keep(k) && current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        delete: current
            .iter()
            .filter(|(k, _)| keep(k) && !desired.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Tag sync of an existing managed SG: legacy keys and `--external-managed-tags` are left alone.
pub fn managed_sg_tag_diff(
    cfg: &ControllerConfig,
    stack: &Stack,
    model_tags: &Tags,
    current: &Tags,
) -> TagDiff {
    let desired = stack.managed_sg_tags(&cfg.cluster_name, model_tags);
    let mut ignored = legacy_tag_keys(&cfg.cluster_name);
    ignored.extend(cfg.external_managed_tags.iter().cloned());
    diff_tags(&desired, current, &ignored)
}

/// The tags the shared backend SG must carry: `--default-tags` plus cluster and resource tags
/// (which override same-named default tags).
pub fn backend_sg_tags(cluster: &str, default_tags: &Tags) -> Tags {
    let mut t = default_tags.clone();
    t.insert(TAG_CLUSTER.to_string(), cluster.to_string());
    t.insert(TAG_RESOURCE.to_string(), BACKEND_SG_RESOURCE.to_string());
    t
}

/// The tag list of `CreateSecurityGroup` for the backend SG, in the LBC's order: default tags
/// sorted by key, then cluster, then resource (a default tag with either key stays duplicated,
/// as the LBC sends it).
pub fn backend_sg_create_tags(cluster: &str, default_tags: &Tags) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = default_tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.push((TAG_CLUSTER.to_string(), cluster.to_string()));
    out.push((TAG_RESOURCE.to_string(), BACKEND_SG_RESOURCE.to_string()));
    out
}

/// Tag sync of an existing backend SG (only `aws:` keys are preserved).
pub fn backend_sg_tag_diff(cluster: &str, default_tags: &Tags, current: &Tags) -> TagDiff {
    diff_tags(&backend_sg_tags(cluster, default_tags), current, &[])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn managed_sg_sync_keeps_legacy_external_and_aws_keys() {
        let cfg = ControllerConfig {
            cluster_name: "demo".into(),
            external_managed_tags: vec!["owner".into()],
            ..ControllerConfig::default()
        };
        let stack = Stack::Service(ObjKey::new("default", "web"));
        let current = tags(&[
            ("elbv2.k8s.aws/cluster", "demo"),
            ("service.k8s.aws/stack", "default/web"),
            ("Name", "hand-made"),
            ("owner", "team-a"),
            ("kubernetes.io/cluster/demo", "owned"),
            ("aws:cloudformation:stack-name", "x"),
            ("team", "old"),
        ]);
        let d = managed_sg_tag_diff(&cfg, &stack, &tags(&[("team", "new")]), &current);
        assert_eq!(
            d.create,
            tags(&[
                ("service.k8s.aws/resource", "ManagedLBSecurityGroup"),
                ("team", "new")
            ])
        );
        assert_eq!(d.delete, tags(&[("Name", "hand-made")]));
    }

    #[test]
    fn ignored_keys_are_not_added_either() {
        let d = diff_tags(
            &tags(&[("a", "1"), ("b", "2")]),
            &Tags::new(),
            &["b".to_string()],
        );
        assert_eq!(d.create, tags(&[("a", "1")]));
        assert!(d.delete.is_empty());
    }

    #[test]
    fn backend_create_tags_order() {
        let got = backend_sg_create_tags("c", &tags(&[("zzz", "1"), ("Abc", "2")]));
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Abc",
                "zzz",
                "elbv2.k8s.aws/cluster",
                "elbv2.k8s.aws/resource"
            ]
        );
        // cluster/resource override default tags of the same key in the desired set
        let desired = backend_sg_tags("c", &tags(&[("elbv2.k8s.aws/cluster", "spoof")]));
        assert_eq!(desired.get(TAG_CLUSTER).map(String::as_str), Some("c"));
    }

    #[test]
    fn ingress_backend_tags_precedence() {
        let cfg = ControllerConfig::default();
        let key = ObjKey::new("ns", "ing");
        let ing_ann = BTreeMap::from([(
            "alb.ingress.kubernetes.io/tags".to_string(),
            "a=ing,b=ing".to_string(),
        )]);
        let svc_ann = BTreeMap::from([(
            "alb.ingress.kubernetes.io/tags".to_string(),
            "a=svc".to_string(),
        )]);
        let params = IngressClassParams {
            tags: tags(&[("b", "params")]),
            ..IngressClassParams::default()
        };
        let m = IngressMember {
            key: &key,
            annotations: &ing_ann,
            class_params: Some(&params),
        };
        let got = ingress_backend_tags(&cfg, &m, &ObjKey::new("ns", "svc"), &svc_ann).unwrap();
        assert_eq!(got, tags(&[("a", "svc"), ("b", "params")]));
    }

    #[test]
    fn class_params_external_key_error_names_the_params() {
        let cfg = ControllerConfig {
            external_managed_tags: vec!["k".into()],
            ..ControllerConfig::default()
        };
        let mut params = IngressClassParams {
            tags: tags(&[("k", "v")]),
            ..IngressClassParams::default()
        };
        params.meta.name = "cls".into();
        assert_eq!(
            ingress_class_params_tags(&cfg, Some(&params)).unwrap_err(),
            "failed build tags for IngressClassParams cls: external managed tag key k cannot be specified"
        );
    }
}
