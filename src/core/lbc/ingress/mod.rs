//! The Ingress (ALB) path of the LBC (lbc-semantics §3.2, §4.2, §5.5, §7.1): which Ingresses the
//! controller owns, how they form IngressGroups, and what one group's ALB model looks like.
//!
//! Layers, one file each: [`class`] (ownership), [`group`] (membership and order),
//! [`listen_port`] (one member's listener settings), [`merge`] (settings merged across the
//! group), [`frontend`] (LB SGs and managed SG rules), [`target_group`] (target groups),
//! [`networking`] (TGB networking), [`model`] (the composition).

pub mod class;
pub mod frontend;
pub mod group;
pub mod listen_port;
pub mod merge;
pub mod model;
pub mod networking;
pub mod target_group;

pub use class::{ClassMatch, classify, member_class_params};
pub use group::{GroupMembers, ingress_groups, load_ingress_groups};
pub use model::{IngressCtx, build_ingress_model};

use crate::world::{Ingress, IngressClassParams};

use super::annotations::{Annotations, Kind};

/// One member of an IngressGroup together with the IngressClassParams its class points at.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub ing: &'a Ingress,
    pub params: Option<&'a IngressClassParams>,
}

impl<'a> Member<'a> {
    /// The Ingress's annotations under the `alb.ingress.kubernetes.io/` prefix.
    pub fn ann(&self) -> Annotations<'a> {
        Annotations::new(Kind::Ingress, &self.ing.meta.annotations)
    }

    /// `ns/name`, as Go prints a NamespacedName in the LBC's messages.
    pub fn key(&self) -> String {
        format!("{}/{}", self.ing.meta.namespace, self.ing.meta.name)
    }
}

/// Go's `%v` of a `[]string`: `[a b c]`.
pub(crate) fn go_list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", parts.join(" "))
}

/// Go `strconv.ParseInt(raw, 10, bits)`: the value, or the `strconv` error text.
pub(crate) fn go_parse_int(raw: &str, bits: u32) -> Result<i64, String> {
    let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {raw:?}: invalid syntax"));
    }
    let max = (1i128 << (bits - 1)) - 1;
    match raw.parse::<i128>() {
        Ok(v) if v >= -max - 1 && v <= max => Ok(v as i64),
        _ => Err(format!(
            "strconv.ParseInt: parsing {raw:?}: value out of range"
        )),
    }
}

/// An int32 annotation as the LBC's parser reads it (`failed to parse int32 annotation, …`).
pub(crate) fn int32_annotation(ann: &Annotations<'_>, suffix: &str) -> Result<Option<i32>, String> {
    match ann.get(suffix) {
        None => Ok(None),
        Some(raw) => go_parse_int(raw, 32).map(|v| Some(v as i32)).map_err(|e| {
            format!(
                "failed to parse int32 annotation, {}: {raw}: {e}",
                ann.full_key(suffix)
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_parsing_matches_strconv() {
        assert_eq!(go_parse_int("+12", 32), Ok(12));
        assert_eq!(go_parse_int("-2147483648", 32), Ok(-2147483648));
        assert_eq!(
            go_parse_int("2147483648", 32).unwrap_err(),
            "strconv.ParseInt: parsing \"2147483648\": value out of range"
        );
        assert_eq!(
            go_parse_int("1_000", 32).unwrap_err(),
            "strconv.ParseInt: parsing \"1_000\": invalid syntax"
        );
        assert!(go_parse_int("", 32).is_err());
        assert!(go_parse_int("99999999999999999999999999999999999999999", 32).is_err());
    }

    #[test]
    fn go_list_formats_like_percent_v() {
        assert_eq!(go_list(&["a", "b"]), "[a b]");
        assert_eq!(go_list::<&str>(&[]), "[]");
    }
}
