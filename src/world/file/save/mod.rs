//! World → world file: kubectl-shaped objects and AWS-CLI-shaped responses under the `lbsg/v1`
//! envelope, so a saved file reads like a pasted one. Output is deterministic (maps are sorted,
//! lists keep the world's order) and loads back into an equal [`World`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

mod aws;
mod kube;

use super::{API_VERSION, KIND, WorldFileError};
use crate::world::aws::Tags;
use crate::world::{ControllerConfig, World};

/// A JSON object under construction; keys keep insertion order (serde_json `preserve_order`).
#[derive(Default)]
pub(super) struct Obj(Map<String, Value>);

impl Obj {
    pub(super) fn new() -> Self {
        Obj(Map::new())
    }
    pub(super) fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }
    pub(super) fn opt(self, key: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }
    /// Sets a string unless it is empty.
    pub(super) fn text(self, key: &str, value: &str) -> Self {
        if value.is_empty() {
            self
        } else {
            self.set(key, value)
        }
    }
    /// Sets a list unless it is empty.
    pub(super) fn list(self, key: &str, items: Vec<Value>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.set(key, Value::Array(items))
        }
    }
    /// Sets a string map unless it is empty.
    pub(super) fn map(self, key: &str, m: &BTreeMap<String, String>) -> Self {
        if m.is_empty() {
            self
        } else {
            self.set(key, str_map(m))
        }
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(super) fn done(self) -> Value {
        Value::Object(self.0)
    }
}

pub(super) fn str_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

pub(super) fn strs(v: &[String]) -> Vec<Value> {
    v.iter().map(|s| json!(s)).collect()
}

/// AWS `[{Key, Value}]`, sorted by key.
pub(super) fn aws_tags(tags: &Tags) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

/// The world as world-file text (YAML).
pub fn save_string(world: &World) -> String {
    // One line per value, as kubectl prints ARNs and checkpoints (no folded `>-` blocks).
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    // Serialising a JSON value cannot fail (string keys, finite numbers only).
    serde_saphyr::to_string_with_options(&document(world), options).unwrap_or_default()
}

/// The world as a JSON world file (same content; loads several times faster than YAML).
pub fn save_string_json(world: &World) -> String {
    serde_json::to_string_pretty(&document(world)).unwrap_or_default()
}

fn document(world: &World) -> Value {
    let mut root = Obj::new().set("apiVersion", API_VERSION).set("kind", KIND);
    let c = &world.cluster;
    let cluster = Obj::new()
        .opt("name", c.name.clone())
        .opt("region", c.region.clone())
        .opt("vpcId", c.vpc_id.clone())
        .opt("account", c.account.clone());
    if !cluster.is_empty() {
        root = root.set("cluster", cluster.done());
    }
    if let Some(cfg) = &world.controller {
        root = root.set("controller", json!({"args": controller_args(cfg)}));
    }
    if let Some(k) = kube::kubernetes(&world.kube) {
        root = root.set("kubernetes", k);
    }
    let aws = aws::aws(&world.aws);
    if !aws.is_empty() {
        root = root.set("aws", aws.done());
    }
    root.done()
}

/// Writes the world file atomically: a temporary file in the same directory, then a rename.
/// An existing file is kept as `<name>.bak`. A `.json` path gets JSON, anything else YAML.
pub fn save_path_atomic(world: &World, path: &Path) -> Result<(), WorldFileError> {
    let io = |source| WorldFileError::Io {
        origin: path.display().to_string(),
        source,
    };
    let text = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        save_string_json(world)
    } else {
        save_string(world)
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file path")))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if path.exists() {
            std::fs::copy(path, dir.join(format!("{name}.bak")))?;
        }
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The controller args: the loaded args, plus flags for values that differ from what those
/// args give (values set another way, e.g. by an edit).
fn controller_args(cfg: &ControllerConfig) -> Vec<String> {
    let mut args = cfg.args.clone();
    let base = ControllerConfig::from_args(&cfg.args).unwrap_or_default();
    let mut flag = |name: &str, value: String| args.push(format!("--{name}={value}"));
    let kv = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    if base.cluster_name != cfg.cluster_name {
        flag("cluster-name", cfg.cluster_name.clone());
    }
    if base.vpc_id != cfg.vpc_id {
        flag("aws-vpc-id", cfg.vpc_id.clone().unwrap_or_default());
    }
    if base.region != cfg.region {
        flag("aws-region", cfg.region.clone().unwrap_or_default());
    }
    if base.enable_backend_security_group != cfg.enable_backend_security_group {
        flag(
            "enable-backend-security-group",
            cfg.enable_backend_security_group.to_string(),
        );
    }
    if base.backend_security_group != cfg.backend_security_group {
        flag("backend-security-group", cfg.backend_security_group.clone());
    }
    if base.enable_manage_backend_security_group_rules
        != cfg.enable_manage_backend_security_group_rules
    {
        flag(
            "enable-manage-backend-security-group-rules",
            cfg.enable_manage_backend_security_group_rules.to_string(),
        );
    }
    if base.disable_restricted_sg_rules != cfg.disable_restricted_sg_rules {
        flag(
            "disable-restricted-sg-rules",
            cfg.disable_restricted_sg_rules.to_string(),
        );
    }
    if base.default_target_type != cfg.default_target_type {
        flag("default-target-type", cfg.default_target_type.clone());
    }
    if base.default_load_balancer_scheme != cfg.default_load_balancer_scheme {
        flag(
            "default-load-balancer-scheme",
            cfg.default_load_balancer_scheme.clone(),
        );
    }
    if base.default_tags != cfg.default_tags {
        flag("default-tags", kv(&cfg.default_tags));
    }
    if base.external_managed_tags != cfg.external_managed_tags {
        flag("external-managed-tags", cfg.external_managed_tags.join(","));
    }
    let gates: Vec<String> = cfg
        .feature_gates
        .0
        .iter()
        .filter(|(k, v)| base.feature_gates.0.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !gates.is_empty() {
        flag("feature-gates", gates.join(","));
    }
    if base.load_balancer_class != cfg.load_balancer_class {
        flag("load-balancer-class", cfg.load_balancer_class.clone());
    }
    if base.ingress_class != cfg.ingress_class {
        flag("ingress-class", cfg.ingress_class.clone());
    }
    if base.service_target_eni_sg_tags != cfg.service_target_eni_sg_tags {
        flag(
            "service-target-eni-security-group-tags",
            kv(&cfg.service_target_eni_sg_tags),
        );
    }
    args
}
