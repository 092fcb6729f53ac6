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
pub fn ingress_flag(members: &[Annotations<'_>], cli_default: bool) -> Result<bool, String> {
    let mut decided: Option<bool> = None;
    for ann in members {
        if let Some(v) = ann.bool(KEY)? {
            match decided {
                Some(prev) if prev != v => {
                    return Err("conflicting manage backend security group rules settings".into());
                }
                _ => decided = Some(v),
            }
        }
    }
    Ok(decided.unwrap_or(cli_default))
}
