//! Names of the SGs the LBC creates (lbc-semantics §5.1, §10).

use sha2::{Digest, Sha256};

pub const MANAGED_SG_DESCRIPTION: &str = "[k8s] Managed SecurityGroup for LoadBalancer";
pub const BACKEND_SG_DESCRIPTION: &str = "[k8s] Shared Backend SecurityGroup for LoadBalancer";

/// Keep ASCII letters and digits only.
pub fn sanitize(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn prefix(s: &str, n: usize) -> &str {
    // sanitised strings are ASCII, so byte slicing is safe
    &s[..s.len().min(n)]
}

/// Lowercase hex SHA-256 of the plain concatenation of `parts` (no separators).
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes hashed for a Service's managed SG name: cluster ‖ name ‖ namespace ‖ uid, no
/// separators (so distinct services can share a hash, §11.12).
pub fn service_sg_hash_input(cluster: &str, namespace: &str, name: &str, uid: &str) -> String {
    [cluster, name, namespace, uid].concat()
}

/// Managed SG name of a Service: hash of cluster ‖ name ‖ namespace ‖ uid.
pub fn service_sg_name(cluster: &str, namespace: &str, name: &str, uid: &str) -> String {
    let hash = sha256_hex(&[&service_sg_hash_input(cluster, namespace, name, uid)]);
    format!(
        "k8s-{}-{}-{}",
        prefix(&sanitize(namespace), 8),
        prefix(&sanitize(name), 8),
        &hash[..10]
    )
}

/// The IngressGroup an Ingress belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum GroupId {
    /// No `group.name`: the group is the Ingress itself.
    Implicit { namespace: String, name: String },
    /// `group.name` annotation or IngressClassParams `group.name`.
    Explicit(String),
}

impl GroupId {
    /// The stack id used in `ingress.k8s.aws/stack` tags.
    pub fn stack_id(&self) -> String {
        match self {
            GroupId::Implicit { namespace, name } => format!("{namespace}/{name}"),
            GroupId::Explicit(name) => name.clone(),
        }
    }
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.stack_id())
    }
}

/// The bytes hashed for an IngressGroup's managed SG name: cluster ‖ `ns/name` (implicit group)
/// or cluster ‖ group name (explicit group).
pub fn ingress_sg_hash_input(cluster: &str, group: &GroupId) -> String {
    format!("{cluster}{}", group.stack_id())
}

/// Managed SG name of an IngressGroup's ALB.
pub fn ingress_sg_name(cluster: &str, group: &GroupId) -> String {
    let hash = sha256_hex(&[&ingress_sg_hash_input(cluster, group)]);
    match group {
        GroupId::Implicit { namespace, name } => {
            format!(
                "k8s-{}-{}-{}",
                prefix(&sanitize(namespace), 8),
                prefix(&sanitize(name), 8),
                &hash[..10]
            )
        }
        GroupId::Explicit(g) => {
            format!("k8s-{}-{}", prefix(&sanitize(g), 17), &hash[..10])
        }
    }
}

/// The bytes hashed for the backend SG name: the unsanitised cluster name.
pub fn backend_sg_hash_input(cluster: &str) -> String {
    cluster.to_string()
}

/// Name of the auto-created shared backend SG (hash of the unsanitised cluster name).
pub fn backend_sg_name(cluster: &str) -> String {
    let hash = sha256_hex(&[&backend_sg_hash_input(cluster)]);
    format!(
        "k8s-traffic-{}-{}",
        prefix(&sanitize(cluster), 232),
        &hash[..10]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        assert_eq!(
            service_sg_name(
                "demo",
                "default",
                "web",
                "3f7e1c2a-0000-4000-8000-000000000001"
            ),
            "k8s-default-web-c619aa9f16"
        );
        assert_eq!(
            ingress_sg_name(
                "demo",
                &GroupId::Implicit {
                    namespace: "shop".into(),
                    name: "storefront".into()
                }
            ),
            "k8s-shop-storefro-eed4a93487"
        );
        assert_eq!(
            ingress_sg_name("demo", &GroupId::Explicit("public-alb".into())),
            "k8s-publicalb-3d16e96840"
        );
        assert_eq!(backend_sg_name("demo"), "k8s-traffic-demo-2a97516c35");
    }
}
