//! The LBC annotations that shape security groups, per object kind, and their validation as the
//! user types. Parsing is the core's (`core::lbc` parsers, `core::plan::edit`), so the editor
//! rejects exactly what the controller or the planner would.

use std::collections::BTreeMap;

use crate::core::lbc::annotations::{Annotations, Kind, split_list};
use crate::core::lbc::resolve::{LookupResolver, SgResolver};
use crate::core::lbc::service::lb_attrs;
use crate::core::plan::ResourceRef;
use crate::core::plan::edit::{parse_source, validate_cidr};
use crate::world::{Source, World};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// SG ids or Name-tag values, comma separated.
    SgList,
    Bool,
    CidrList,
    PrefixLists,
    /// `on` / `off` (PrivateLink enforcement).
    OnOff,
    /// Only the exact string `on` does anything.
    IcmpOn,
    IpTypeService,
    IpTypeIngress,
    /// JSON list like `[{"HTTP": 80}, {"HTTPS": 443}]`.
    ListenPorts,
    HealthcheckPort,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub suffix: &'static str,
    pub kind: FieldKind,
    pub help: &'static str,
}

const fn f(suffix: &'static str, kind: FieldKind, help: &'static str) -> FieldDef {
    FieldDef { suffix, kind, help }
}

pub const SERVICE_FIELDS: &[FieldDef] = &[
    f(
        "aws-load-balancer-security-groups",
        FieldKind::SgList,
        "custom frontend SGs (ids or Name tags); replaces the managed SG",
    ),
    f(
        "aws-load-balancer-manage-backend-security-group-rules",
        FieldKind::Bool,
        "with custom SGs: attach the backend SG and add target rules",
    ),
    f(
        "load-balancer-source-ranges",
        FieldKind::CidrList,
        "client CIDRs of the managed SG (spec.loadBalancerSourceRanges wins)",
    ),
    f(
        "aws-load-balancer-security-group-prefix-lists",
        FieldKind::PrefixLists,
        "prefix lists admitted by the managed SG",
    ),
    f(
        "aws-load-balancer-inbound-sg-rules-on-private-link-traffic",
        FieldKind::OnOff,
        "enforce SG rules on PrivateLink traffic: on/off",
    ),
    f(
        "aws-load-balancer-enable-icmp-for-path-mtu-discovery",
        FieldKind::IcmpOn,
        "\"on\" adds ICMP path-MTU rules per CIDR",
    ),
    f(
        "aws-load-balancer-ip-address-type",
        FieldKind::IpTypeService,
        "ipv4 or dualstack (dualstack adds ::/0 by default)",
    ),
    f(
        "aws-load-balancer-disable-nlb-sg",
        FieldKind::Bool,
        "true: no SGs on a new NLB (filtering on the targets)",
    ),
    f(
        "aws-load-balancer-healthcheck-port",
        FieldKind::HealthcheckPort,
        "traffic-port, a port number or a port name",
    ),
];

pub const INGRESS_FIELDS: &[FieldDef] = &[
    f(
        "security-groups",
        FieldKind::SgList,
        "custom frontend SGs (ids or Name tags); replaces the managed SG",
    ),
    f(
        "manage-backend-security-group-rules",
        FieldKind::Bool,
        "with custom SGs: attach the backend SG and add target rules",
    ),
    f(
        "inbound-cidrs",
        FieldKind::CidrList,
        "client CIDRs of the managed SG (IngressClassParams win)",
    ),
    f(
        "security-group-prefix-lists",
        FieldKind::PrefixLists,
        "prefix lists admitted by the managed SG",
    ),
    f(
        "listen-ports",
        FieldKind::ListenPorts,
        "listener ports, e.g. [{\"HTTP\": 80}, {\"HTTPS\": 443}]",
    ),
    f(
        "ip-address-type",
        FieldKind::IpTypeIngress,
        "ipv4, dualstack or dualstack-without-public-ipv4",
    ),
    f(
        "healthcheck-port",
        FieldKind::HealthcheckPort,
        "traffic-port, a port number or a port name",
    ),
];

pub fn kind_of(r: &ResourceRef) -> Kind {
    match r {
        ResourceRef::Service(_) => Kind::Service,
        ResourceRef::Ingress(_) => Kind::Ingress,
    }
}

pub fn fields_for(kind: Kind) -> &'static [FieldDef] {
    match kind {
        Kind::Service => SERVICE_FIELDS,
        Kind::Ingress => INGRESS_FIELDS,
    }
}

/// The field that expresses "who may reach the frontend" for a kind.
pub fn source_field(kind: Kind) -> &'static str {
    match kind {
        Kind::Service => "load-balancer-source-ranges",
        Kind::Ingress => "inbound-cidrs",
    }
}

/// What the validator says about a value: an error stops the edit, a note does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub error: Option<String>,
    pub note: Option<String>,
}

fn err(e: String) -> Verdict {
    Verdict {
        error: Some(e),
        note: None,
    }
}

fn note(n: String) -> Verdict {
    Verdict {
        error: None,
        note: Some(n),
    }
}

/// Validate one value. An empty value means "remove the annotation" and is always valid.
pub fn validate(kind: Kind, def: &FieldDef, value: &str, world: &World) -> Verdict {
    if value.trim().is_empty() {
        return Verdict::default();
    }
    let full = format!("{}{}", kind.prefix(), def.suffix);
    let map = BTreeMap::from([(full.clone(), value.to_string())]);
    let ann = Annotations::new(kind, &map);
    match def.kind {
        FieldKind::Bool => match ann.bool(def.suffix) {
            Ok(_) => Verdict::default(),
            Err(e) => err(e),
        },
        FieldKind::OnOff => match lb_attrs::private_link_enforcement(&ann) {
            Ok(_) => Verdict::default(),
            Err(e) => err(e),
        },
        FieldKind::IpTypeService => match lb_attrs::ip_address_type(&ann) {
            Ok(_) => Verdict::default(),
            Err(e) => err(e),
        },
        FieldKind::IpTypeIngress => match value {
            "ipv4" | "dualstack" | "dualstack-without-public-ipv4" => Verdict::default(),
            other => err(format!("unknown IPAddressType: {other}")),
        },
        FieldKind::IcmpOn => {
            if value == "on" {
                Verdict::default()
            } else {
                note("only the exact value \"on\" adds ICMP rules; this value adds none".into())
            }
        }
        FieldKind::CidrList => {
            for item in split_list(value) {
                if let Err(e) = validate_cidr(&item) {
                    return err(e);
                }
            }
            Verdict::default()
        }
        FieldKind::PrefixLists => {
            let known = world.aws.prefix_lists.as_ref();
            let mut missing = Vec::new();
            for item in split_list(value) {
                match parse_source(&item) {
                    Ok(Source::PrefixList(id)) => {
                        if known.is_some_and(|m| !m.contains_key(&id)) {
                            missing.push(id);
                        }
                    }
                    Ok(_) => return err(format!("{item:?} is not a prefix list id (pl-…)")),
                    Err(e) => return err(e),
                }
            }
            if missing.is_empty() {
                Verdict::default()
            } else {
                note(format!("not in the loaded world: {}", missing.join(", ")))
            }
        }
        FieldKind::SgList => validate_sgs(value, world),
        FieldKind::ListenPorts => validate_listen_ports(value),
        FieldKind::HealthcheckPort => {
            if value == "traffic-port" {
                return Verdict::default();
            }
            match value.parse::<i64>() {
                Ok(p) if (1..=65535).contains(&p) => Verdict::default(),
                Ok(p) => err(format!("port {p} is not from 1 to 65535")),
                Err(_) => note(format!("{value:?} is read as a port name of the Service")),
            }
        }
    }
}

/// Resolve like the LBC does (`core::lbc::resolve`, in the world's VPC), so the error is the
/// controller's own; a GroupName matching a missing Name tag is the usual mix-up, so say so.
fn validate_sgs(value: &str, world: &World) -> Verdict {
    let Some(sgs) = world.aws.security_groups.as_ref() else {
        return note("security groups not loaded; ids and names are not checked".into());
    };
    let items = split_list(value);
    for item in items.iter().filter(|i| i.starts_with("sg-")) {
        if let Err(e) = parse_source(item) {
            return err(e);
        }
    }
    let Err(mut msg) = LookupResolver::for_world(world).resolve(&items) else {
        return Verdict::default();
    };
    for name in items.iter().filter(|i| !i.starts_with("sg-")) {
        let tagged = sgs.values().any(|sg| sg.name_tag() == Some(name.as_str()));
        if let Some(sg) = sgs.values().find(|sg| &sg.name == name).filter(|_| !tagged) {
            msg.push_str(&format!(
                "; {} has GroupName {name}: tag it Name={name} or use its id",
                sg.id
            ));
        }
    }
    err(msg)
}

fn validate_listen_ports(value: &str) -> Verdict {
    let parsed: Result<Vec<BTreeMap<String, serde_json::Value>>, _> = serde_json::from_str(value);
    let Ok(list) = parsed else {
        return err(format!(
            "{value:?} is not a JSON list like [{{\"HTTP\": 80}}, {{\"HTTPS\": 443}}]"
        ));
    };
    for entry in &list {
        for (proto, port) in entry {
            if proto != "HTTP" && proto != "HTTPS" {
                return err(format!(
                    "listen port protocol must be HTTP or HTTPS, not {proto:?}"
                ));
            }
            match port.as_i64() {
                Some(p) if (1..=65535).contains(&p) => {}
                _ => {
                    return err(format!(
                        "listen port {port} is not a number from 1 to 65535"
                    ));
                }
            }
        }
    }
    if list.is_empty() {
        return note("an empty list means no listeners".into());
    }
    Verdict::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{PrefixList, SecurityGroup};

    fn world() -> World {
        let mut w = World::default();
        let sg = |id: &str, name: &str, tag: Option<&str>| SecurityGroup {
            id: id.into(),
            name: name.into(),
            tags: tag
                .map(|t| [("Name".to_string(), t.to_string())].into())
                .unwrap_or_default(),
            ..Default::default()
        };
        w.aws.security_groups = Some(
            [
                ("sg-0web".to_string(), sg("sg-0web", "web", Some("web-fe"))),
                (
                    "sg-0searchfe".to_string(),
                    sg("sg-0searchfe", "search-frontend", None),
                ),
            ]
            .into(),
        );
        w.aws.prefix_lists = Some(
            [(
                "pl-0office".to_string(),
                PrefixList {
                    id: "pl-0office".into(),
                    ..Default::default()
                },
            )]
            .into(),
        );
        w
    }

    fn check(kind: Kind, suffix: &str, value: &str) -> Verdict {
        let def = fields_for(kind)
            .iter()
            .find(|d| d.suffix == suffix)
            .unwrap();
        validate(kind, def, value, &world())
    }

    #[test]
    fn lbc_error_texts_for_scalars() {
        let v = check(
            Kind::Service,
            "aws-load-balancer-manage-backend-security-group-rules",
            "yes",
        );
        assert_eq!(
            v.error.unwrap(),
            "failed to parse bool annotation, service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules: yes: strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-manage-backend-security-group-rules",
                "true"
            )
            .error
            .is_none()
        );
        assert_eq!(
            check(
                Kind::Service,
                "aws-load-balancer-ip-address-type",
                "DualStack"
            )
            .error
            .unwrap(),
            "unknown IPAddressType: DualStack"
        );
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-inbound-sg-rules-on-private-link-traffic",
                "yes"
            )
            .error
            .unwrap()
            .contains("value must be one of [on, off]")
        );
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-enable-icmp-for-path-mtu-discovery",
                "On"
            )
            .note
            .is_some()
        );
    }

    #[test]
    fn cidrs_and_prefix_lists() {
        assert!(
            check(
                Kind::Service,
                "load-balancer-source-ranges",
                "10.0.0.0/8, 192.168.0.0/16"
            )
            .error
            .is_none()
        );
        assert!(
            check(Kind::Ingress, "inbound-cidrs", "10.0.0.1/8")
                .error
                .unwrap()
                .contains("host bits")
        );
        assert!(
            check(Kind::Service, "load-balancer-source-ranges", "10.0.0.1")
                .error
                .unwrap()
                .contains("/32")
        );
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-security-group-prefix-lists",
                "pl-0office"
            )
            .error
            .is_none()
        );
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-security-group-prefix-lists",
                "pl-0other"
            )
            .note
            .is_some()
        );
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-security-group-prefix-lists",
                "sg-1"
            )
            .error
            .is_some()
        );
    }

    #[test]
    fn security_groups_against_the_world() {
        assert!(
            check(
                Kind::Service,
                "aws-load-balancer-security-groups",
                "sg-0web, web-fe"
            )
            .error
            .is_none()
        );
        let e = check(
            Kind::Service,
            "aws-load-balancer-security-groups",
            "sg-0nope",
        )
        .error
        .unwrap();
        assert!(
            e.starts_with("couldn't find all security groups") && e.contains("sg-0nope"),
            "the LBC's own message: {e}"
        );
        let e = check(
            Kind::Service,
            "aws-load-balancer-security-groups",
            "search-frontend",
        )
        .error
        .unwrap();
        assert!(
            e.contains("requested names [search-frontend] but found []"),
            "{e}"
        );
        assert!(
            e.contains("sg-0searchfe has GroupName search-frontend"),
            "{e}"
        );
    }

    #[test]
    fn listen_ports_and_empty_values() {
        assert!(
            check(
                Kind::Ingress,
                "listen-ports",
                r#"[{"HTTP": 80}, {"HTTPS": 443}]"#
            )
            .error
            .is_none()
        );
        assert!(
            check(Kind::Ingress, "listen-ports", r#"[{"HTTP": 0}]"#)
                .error
                .is_some()
        );
        assert!(check(Kind::Ingress, "listen-ports", "80").error.is_some());
        assert_eq!(check(Kind::Ingress, "listen-ports", ""), Verdict::default());
        assert!(
            check(Kind::Ingress, "healthcheck-port", "70000")
                .error
                .is_some()
        );
    }
}
