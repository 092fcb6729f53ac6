//! `manage-backend-security-group-rules`: whether the LBC writes target rules when the
//! frontend SG is custom (lbc-semantics §3, §4.1 case 5).

use super::annotations::Annotations;

const KEY: &str = "manage-backend-security-group-rules";

/// Service: the annotation when present, else `--enable-manage-backend-security-group-rules`.
pub fn service_flag(ann: &Annotations<'_>, cli_default: bool) -> Result<bool, String> {
    Ok(ann
        .bool(&format!("aws-load-balancer-{KEY}"))?
        .unwrap_or(cli_default))
}

/// Ingress group: members that set the annotation must agree; none set ⇒ the CLI flag.
/// Every member is parsed before agreement is checked, so a parse error wins over a conflict.
pub fn ingress_flag(members: &[Annotations<'_>], cli_default: bool) -> Result<bool, String> {
    let mut seen = std::collections::BTreeSet::new();
    for ann in members {
        seen.extend(ann.bool(KEY)?);
    }
    match seen.len() {
        0 => Ok(cli_default),
        1 => Ok(seen.contains(&true)),
        _ => Err("conflicting manage backend security group rules settings".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::core::lbc::annotations::Kind;

    #[test]
    fn ingress_parse_error_wins_over_conflict() {
        let m = |v: &str| -> BTreeMap<String, String> {
            [(format!("alb.ingress.kubernetes.io/{KEY}"), v.to_string())].into()
        };
        let (a, b, c) = (m("true"), m("false"), m("maybe"));
        let anns: Vec<_> = [&a, &b, &c]
            .iter()
            .map(|x| Annotations::new(Kind::Ingress, x))
            .collect();
        assert!(
            ingress_flag(&anns, false)
                .unwrap_err()
                .starts_with("failed to parse bool annotation")
        );
        assert_eq!(
            ingress_flag(&anns[..2], false).unwrap_err(),
            "conflicting manage backend security group rules settings"
        );
        assert_eq!(ingress_flag(&anns[1..2], true), Ok(false));
        assert_eq!(ingress_flag(&[], true), Ok(true));
    }
}
