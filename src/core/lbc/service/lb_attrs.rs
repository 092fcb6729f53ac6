//! NLB-level attributes that shape SG decisions: scheme, IP address type and private-link
//! enforcement (lbc-semantics §3.1).

use super::build::ExistingLb;
use crate::core::lbc::annotations::Annotations;

pub const SCHEME_INTERNAL: &str = "internal";
pub const SCHEME_INTERNET_FACING: &str = "internet-facing";
pub const IP_TYPE_IPV4: &str = "ipv4";
pub const IP_TYPE_DUALSTACK: &str = "dualstack";

const SCHEME_KEY: &str = "aws-load-balancer-scheme";
const INTERNAL_KEY: &str = "aws-load-balancer-internal";
const IP_TYPE_KEY: &str = "aws-load-balancer-ip-address-type";
const PRIVATE_LINK_KEY: &str = "aws-load-balancer-inbound-sg-rules-on-private-link-traffic";

/// The scheme: `aws-load-balancer-scheme`, else the legacy `aws-load-balancer-internal` bool,
/// else the existing LB's scheme, else `--default-load-balancer-scheme`.
pub fn scheme(
    ann: &Annotations<'_>,
    existing: Option<&ExistingLb>,
    default_scheme: &str,
) -> Result<String, String> {
    if let Some(raw) = ann.get(SCHEME_KEY) {
        return match raw {
            SCHEME_INTERNET_FACING | SCHEME_INTERNAL => Ok(raw.to_string()),
            _ => Err(format!("unknown scheme: {raw}")),
        };
    }
    if let Some(internal) = ann.bool(INTERNAL_KEY)? {
        let s = if internal {
            SCHEME_INTERNAL
        } else {
            SCHEME_INTERNET_FACING
        };
        return Ok(s.to_string());
    }
    if let Some(lb) = existing {
        return match lb.scheme.as_str() {
            SCHEME_INTERNAL | SCHEME_INTERNET_FACING => Ok(lb.scheme.clone()),
            _ => Err("invalid load balancer scheme".to_string()),
        };
    }
    Ok(default_scheme.to_string())
}

/// `ipv4` (default) or `dualstack`; exact, case-sensitive.
pub fn ip_address_type(ann: &Annotations<'_>) -> Result<String, String> {
    match ann.get(IP_TYPE_KEY) {
        None => Ok(IP_TYPE_IPV4.to_string()),
        Some(raw @ (IP_TYPE_IPV4 | IP_TYPE_DUALSTACK)) => Ok(raw.to_string()),
        Some(raw) => Err(format!("unknown IPAddressType: {raw}")),
    }
}

/// `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic`: `on`/`off` when the annotation is set.
/// Modelled even on an SG-less NLB.
pub fn private_link_enforcement(ann: &Annotations<'_>) -> Result<Option<String>, String> {
    match ann.get(PRIVATE_LINK_KEY) {
        None => Ok(None),
        Some(raw @ ("on" | "off")) => Ok(Some(raw.to_string())),
        Some(raw) => Err(format!(
            "Invalid value for securityGroupsInboundRulesOnPrivateLink status: {raw}, value must be one of [on, off]"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lbc::annotations::Kind;
    use std::collections::BTreeMap;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (format!("service.beta.kubernetes.io/{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn scheme_precedence() {
        let existing = ExistingLb {
            scheme: SCHEME_INTERNET_FACING.into(),
            ..ExistingLb::default()
        };
        let m = map(&[]);
        let a = Annotations::new(Kind::Service, &m);
        assert_eq!(scheme(&a, None, "internal"), Ok("internal".into()));
        assert_eq!(
            scheme(&a, Some(&existing), "internal"),
            Ok("internet-facing".into())
        );
        let m = map(&[(INTERNAL_KEY, "true")]);
        let a = Annotations::new(Kind::Service, &m);
        assert_eq!(scheme(&a, Some(&existing), "x"), Ok("internal".into()));
        let m = map(&[(SCHEME_KEY, "internet-facing"), (INTERNAL_KEY, "true")]);
        let a = Annotations::new(Kind::Service, &m);
        assert_eq!(scheme(&a, None, "x"), Ok("internet-facing".into()));
        let m = map(&[(SCHEME_KEY, "Internal")]);
        let a = Annotations::new(Kind::Service, &m);
        assert_eq!(
            scheme(&a, None, "x"),
            Err("unknown scheme: Internal".into())
        );
    }
}
