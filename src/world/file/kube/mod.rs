//! Kubernetes objects as `kubectl get -o yaml` prints them → the world's kube types: Lists,
//! kinds and versions, metadata and the controller's Deployment here; each kind's fields in
//! [`objects`].

mod objects;
use objects::*;

use std::collections::{BTreeMap, BTreeSet};

use super::located::{self, At, Res, Unique};
use crate::world::ControllerConfig;
use crate::world::kube::*;

/// The container (and Deployment) name the LBC's Helm chart uses.
pub(super) const LBC_NAME: &str = "aws-load-balancer-controller";

/// Kinds lbsg reads: kind, API groups it may come from, versions accepted for that kind.
/// A known kind from one of these groups in another version is rejected; from another group
/// (a Knative `Service`, say) it is an unknown kind and ignored.
const KINDS: &[(&str, &[&str], &[&str])] = &[
    ("Service", &[""], &["v1"]),
    (
        "Ingress",
        &["networking.k8s.io", "extensions"],
        &["networking.k8s.io/v1"],
    ),
    (
        "IngressClass",
        &["networking.k8s.io"],
        &["networking.k8s.io/v1"],
    ),
    (
        "IngressClassParams",
        &["elbv2.k8s.aws"],
        &["elbv2.k8s.aws/v1beta1"],
    ),
    (
        "TargetGroupBinding",
        &["elbv2.k8s.aws"],
        &["elbv2.k8s.aws/v1beta1", "elbv2.k8s.aws/v1alpha1"],
    ),
    ("Node", &[""], &["v1"]),
    ("Pod", &[""], &["v1"]),
    (
        "EndpointSlice",
        &["discovery.k8s.io"],
        &["discovery.k8s.io/v1"],
    ),
    ("Event", &["", "events.k8s.io"], &["v1", "events.k8s.io/v1"]),
    ("Deployment", &["apps", "extensions"], &["apps/v1"]),
];

/// Kinds that `kubernetes.kinds` may name (Deployment only feeds the controller config).
pub(super) const LISTABLE: &[&str] = &[
    "Service",
    "Ingress",
    "IngressClass",
    "IngressClassParams",
    "TargetGroupBinding",
    "Node",
    "Pod",
    "EndpointSlice",
    "Event",
];

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The LBC args found in a Deployment, with the node to blame for bad flags.
pub(super) type LbcArgs<'a> = Option<(Vec<String>, At<'a>)>;

/// The controller's flags read from its Deployment, or the problem with them (reported after
/// the AWS side's problems).
pub(super) type LbcFlags = Option<Res<ControllerConfig>>;

/// Reads the `kubernetes:` section: a List (`items`), one object, or a list of objects; with
/// `lbc_flags`, also the controller's flags from its Deployment.
pub(super) fn read(tree: located::Node<'_>, lbc_flags: bool) -> Res<(KubeSide, LbcFlags)> {
    let at = &At::section(&tree, "kubernetes");
    let mut objects = Vec::new();
    let mut listed = BTreeSet::new();
    // A List (kubectl's, or lbsg's `items` + `kinds`) unless it is one object with a kind.
    let is_list = at.is_map() && (at.get("items")?.is_some() || at.get("kind")?.is_none());
    if is_list {
        at.only_keys(&["apiVersion", "kind", "metadata", "items", "kinds"])?;
        for k in at.list("kinds")? {
            let kind = k.str()?;
            if !LISTABLE.contains(&kind.as_str()) {
                return Err(k.err(format!(
                    "expected one of the kinds lbsg reads ({}), found {kind:?}",
                    LISTABLE.join(", ")
                )));
            }
            listed.insert(kind);
        }
        for item in at.list("items")? {
            collect(&item, &mut objects)?;
        }
    } else {
        collect(at, &mut objects)?;
    }

    let mut r = Reader::default();
    for kind in &listed {
        r.mark_known(kind);
    }
    for obj in &objects {
        r.object(obj)?;
    }
    let flags = match r.lbc {
        Some((args, list)) if lbc_flags => Some(super::controller_from(&args, &list)),
        _ => None,
    };
    Ok((r.side, flags))
}

/// Flattens Lists (kubectl prints `kind: List` with `items`) into single objects.
fn collect<'a>(at: &At<'a>, out: &mut Vec<At<'a>>) -> Res<()> {
    if at.is_seq() {
        for item in at.seq()? {
            collect(&item, out)?;
        }
        return Ok(());
    }
    if !at.is_map() {
        return Err(at.err("expected a Kubernetes object (with apiVersion and kind) or a List"));
    }
    let kind = at.opt_str("kind")?;
    match kind {
        Some(k) if k.ends_with("List") && at.get("items")?.is_some() => {
            for item in at.list("items")? {
                collect(&item, out)?;
            }
        }
        Some(_) => out.push(at.clone()),
        None => return Err(at.missing("kind")),
    }
    Ok(())
}

#[derive(Default)]
struct Reader<'a> {
    side: KubeSide,
    lbc: LbcArgs<'a>,
    seen: Unique<'a>,
}

/// Inserts into a keyed section, creating it, rejecting a second object with the same key.
fn put<K: Ord, V>(section: &mut Option<BTreeMap<K, V>>, key: K, value: V) {
    section.get_or_insert_with(BTreeMap::new).insert(key, value);
}

impl<'a> Reader<'a> {
    fn mark_known(&mut self, kind: &str) {
        let s = &mut self.side;
        match kind {
            "Service" => drop(s.services.get_or_insert_with(BTreeMap::new)),
            "Ingress" => drop(s.ingresses.get_or_insert_with(BTreeMap::new)),
            "IngressClass" => drop(s.ingress_classes.get_or_insert_with(BTreeMap::new)),
            "IngressClassParams" => drop(s.ingress_class_params.get_or_insert_with(BTreeMap::new)),
            "TargetGroupBinding" => drop(s.target_group_bindings.get_or_insert_with(BTreeMap::new)),
            "Node" => drop(s.nodes.get_or_insert_with(BTreeMap::new)),
            "Pod" => drop(s.pods.get_or_insert_with(BTreeMap::new)),
            "EndpointSlice" => drop(s.endpoint_slices.get_or_insert_with(BTreeMap::new)),
            "Event" => drop(s.events.get_or_insert_with(Vec::new)),
            _ => {}
        }
    }

    fn object(&mut self, at: &At<'a>) -> Res<()> {
        let api_at = at.req("apiVersion")?;
        let api = api_at.str()?;
        let kind = at.req_str("kind")?;
        let Some((_, groups, versions)) = KINDS.iter().find(|(k, ..)| *k == kind) else {
            return Ok(());
        };
        if !groups.contains(&group_of(&api)) {
            return Ok(());
        }
        if !versions.contains(&api.as_str()) {
            return Err(api_at.err(format!(
                "unsupported apiVersion {api:?} for {kind}; expected {}",
                versions.join(" or ")
            )));
        }
        let namespaced = !matches!(
            kind.as_str(),
            "Node" | "IngressClass" | "IngressClassParams"
        );
        if kind == "Deployment" {
            if self.lbc.is_none() {
                self.lbc = deployment_args(at, false)?;
            }
            return Ok(());
        }
        let meta = read_meta(at, namespaced)?;
        if kind != "Event" {
            let name_at = at.req("metadata")?.req("name")?;
            self.seen.check(&kind, &meta.key().to_string(), &name_at)?;
        }
        let s = &mut self.side;
        match kind.as_str() {
            "Service" => put(&mut s.services, meta.key(), read_service(at, meta)?),
            "Ingress" => put(&mut s.ingresses, meta.key(), read_ingress(at, meta)?),
            "IngressClass" => {
                let name = meta.name.clone();
                put(&mut s.ingress_classes, name, read_ingress_class(at, meta)?)
            }
            "IngressClassParams" => {
                let name = meta.name.clone();
                put(&mut s.ingress_class_params, name, read_params(at, meta)?)
            }
            "TargetGroupBinding" => put(
                &mut s.target_group_bindings,
                meta.key(),
                read_tgb(at, meta)?,
            ),
            "Node" => {
                let name = meta.name.clone();
                put(&mut s.nodes, name, read_node(at, meta)?)
            }
            "Pod" => put(&mut s.pods, meta.key(), read_pod(at, meta)?),
            "EndpointSlice" => put(&mut s.endpoint_slices, meta.key(), read_slice(at, meta)?),
            "Event" => {
                let event = read_event(at, meta, &api)?;
                s.events.get_or_insert_with(Vec::new).push(event);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The LBC's container args from a Deployment: those of the container named or imaged after the
/// LBC, else of the first container when the user said this is the LBC (`explicit`,
/// `controller.deployment`) or the Deployment bears the chart's name. Other Deployments: `None`.
pub(super) fn deployment_args<'a>(at: &At<'a>, explicit: bool) -> Res<LbcArgs<'a>> {
    if explicit {
        let api = at.req("apiVersion")?;
        if api.str()? != "apps/v1" {
            return Err(api.err(format!(
                "expected apiVersion apps/v1, found {:?}",
                api.str()?
            )));
        }
        let kind = at.req("kind")?;
        if kind.str()? != "Deployment" {
            return Err(kind.err(format!("expected kind Deployment, found {:?}", kind.str()?)));
        }
    }
    let containers = match at.get("spec")? {
        Some(spec) => match spec.get("template")? {
            Some(t) => match t.get("spec")? {
                Some(ps) => ps.list("containers")?,
                None => Vec::new(),
            },
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let mut chosen = None;
    for c in &containers {
        let name = c.str_or_empty("name")?;
        let image = c.str_or_empty("image")?;
        if name == LBC_NAME || image.contains(LBC_NAME) {
            chosen = Some(c.clone());
            break;
        }
    }
    // A Deployment named like the chart's is the LBC even when its container is renamed.
    let named_lbc = match at.get("metadata")? {
        Some(m) => m.opt_str("name")?.as_deref() == Some(LBC_NAME),
        None => false,
    };
    if chosen.is_none() && (explicit || named_lbc) {
        chosen = containers.first().cloned();
    }
    let Some(c) = chosen else {
        return Ok(None);
    };
    let (args, blame) = match c.get("args")? {
        Some(list) => (list.seq()?.iter().map(At::str).collect::<Res<_>>()?, list),
        None => (Vec::new(), c),
    };
    Ok(Some((args, blame)))
}

fn read_meta(at: &At<'_>, namespaced: bool) -> Res<Meta> {
    let m = at.req("metadata")?;
    let mut meta = Meta {
        name: m.req_str("name")?,
        // A namespaced object without a namespace (a hand-written manifest) lives in `default`.
        namespace: if namespaced {
            m.opt_str("namespace")?.unwrap_or_else(|| "default".into())
        } else {
            String::new()
        },
        uid: m.str_or_empty("uid")?,
        resource_version: m.str_or_empty("resourceVersion")?,
        annotations: m.str_map("annotations")?,
        labels: m.str_map("labels")?,
        finalizers: m.str_list("finalizers")?,
        deleting: m.get("deletionTimestamp")?.is_some(),
        annotation_managers: BTreeMap::new(),
    };
    for entry in m.list("managedFields")? {
        let Some(manager) = entry.opt_str("manager")? else {
            continue;
        };
        let Some(fields) = entry.get("fieldsV1")? else {
            continue;
        };
        let Some(annotations) = fields
            .get("f:metadata")?
            .map(|md| md.get("f:annotations"))
            .transpose()?
            .flatten()
        else {
            continue;
        };
        for (key, _) in annotations.entries()? {
            if let Some(name) = key.strip_prefix("f:") {
                let owners = meta
                    .annotation_managers
                    .entry(name.to_string())
                    .or_default();
                if !owners.contains(&manager) {
                    owners.push(manager.clone());
                    owners.sort();
                }
            }
        }
    }
    Ok(meta)
}
