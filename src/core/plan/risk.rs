//! Per-change risk: an authorize widens exposure only if the SG did not already admit that
//! traffic before the plan. (Exact exposure per listener comes from the reachability module.)

use ipnet::IpNet;

use super::{ChangeKind, Plan, Risk};
use crate::world::{Rule, Source, World};

/// Does `a` admit everything `b` admits (protocol, ports, source)?
pub fn covers(a: &Rule, b: &Rule) -> bool {
    let proto_ok = a.protocol == "-1" || a.protocol == b.protocol;
    if !proto_ok {
        return false;
    }
    let ports_ok = a.protocol == "-1"
        || match (a.from_port, a.to_port, b.from_port, b.to_port) {
            (Some(af), Some(at), Some(bf), Some(bt)) if a.protocol.starts_with("icmp") => {
                (af == -1 || af == bf) && (at == -1 || at == bt)
            }
            (Some(af), Some(at), Some(bf), Some(bt)) => af <= bf && bt <= at,
            _ => false,
        };
    ports_ok && source_covers(&a.source, &b.source)
}

fn source_covers(a: &Source, b: &Source) -> bool {
    match (a, b) {
        (Source::Cidr(x), Source::Cidr(y)) | (Source::CidrV6(x), Source::CidrV6(y)) => {
            match (x.parse::<IpNet>(), y.parse::<IpNet>()) {
                (Ok(x), Ok(y)) => x.contains(&y),
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

/// Lower `Widened` to `Unchanged` for authorizations the SG already covered before the plan.
pub fn refine(world: &World, plan: &mut Plan) {
    for c in &mut plan.changes {
        if let ChangeKind::AuthorizeIngress { sg, rules } = &c.kind {
            let Some(g) = world.aws.security_groups.as_ref().and_then(|m| m.get(sg)) else {
                continue;
            };
            if rules
                .iter()
                .all(|r| g.ingress.iter().any(|e| covers(&e.rule, r)))
            {
                c.risk = Risk::Unchanged;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(p: &str, f: i32, t: i32, s: Source) -> Rule {
        Rule::new(p, f, t, s, "")
    }

    #[test]
    fn coverage() {
        let any = r("tcp", 80, 80, Source::Cidr("0.0.0.0/0".into()));
        let office = r("tcp", 80, 80, Source::Cidr("10.0.0.0/8".into()));
        assert!(covers(&any, &office));
        assert!(!covers(&office, &any));
        let range = r("tcp", 30000, 32767, Source::Group("sg-1".into()));
        assert!(covers(
            &range,
            &r("tcp", 31443, 31443, Source::Group("sg-1".into()))
        ));
        assert!(!covers(
            &range,
            &r("tcp", 31443, 31443, Source::Group("sg-2".into()))
        ));
        assert!(!covers(
            &range,
            &r("udp", 31443, 31443, Source::Group("sg-1".into()))
        ));
        let all = Rule {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            source: Source::Cidr("10.0.0.0/8".into()),
            description: String::new(),
        };
        assert!(covers(
            &all,
            &r("udp", 53, 53, Source::Cidr("10.1.0.0/16".into()))
        ));
        assert!(!covers(
            &any,
            &r("tcp", 80, 80, Source::CidrV6("::/0".into()))
        ));
    }
}
