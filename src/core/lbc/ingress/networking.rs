//! The `spec.networking` the LBC writes into an ALB TargetGroupBinding (lbc-semantics §7.1,
//! `pkg/ingress/model_build_target_group.go` buildTargetGroupBindingNetworking).

use crate::world::{IntOrString, NetworkingPeer, NetworkingPort, NetworkingRule};

/// The health-check port value meaning "same as the traffic port".
pub const TRAFFIC_PORT: &str = "traffic-port";

/// TGB networking for one ALB target group.
///
/// * no rule source (custom SGs without manage-rules) ⇒ `None`;
/// * `--disable-restricted-sg-rules` ⇒ one rule, TCP all ports;
/// * otherwise one rule per port, each with the single SG peer: the traffic port, then the
///   health-check port unless it is literally `traffic-port` (no de-duplication), then the
///   target-control port. ALB targets are always TCP.
pub fn tgb_networking(
    rule_source_sg: Option<&str>,
    traffic_port: &IntOrString,
    health_check_port: &IntOrString,
    target_control_port: Option<i32>,
    disable_restricted_sg_rules: bool,
) -> Option<Vec<NetworkingRule>> {
    let sg = rule_source_sg?;
    let rule = |port: Option<IntOrString>| NetworkingRule {
        from: vec![NetworkingPeer::SecurityGroup(sg.to_string())],
        ports: vec![NetworkingPort {
            protocol: Some("TCP".into()),
            port,
        }],
    };
    if disable_restricted_sg_rules {
        return Some(vec![rule(None)]);
    }
    let mut rules = vec![rule(Some(traffic_port.clone()))];
    if health_check_port.to_string() != TRAFFIC_PORT {
        rules.push(rule(Some(health_check_port.clone())));
    }
    if let Some(p) = target_control_port {
        rules.push(rule(Some(IntOrString::Int(p))));
    }
    Some(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(rules: &[NetworkingRule]) -> Vec<Option<IntOrString>> {
        rules.iter().map(|r| r.ports[0].port.clone()).collect()
    }

    #[test]
    fn restricted_one_rule_per_port_without_dedupe() {
        let tp = IntOrString::Int(8080);
        let rules = tgb_networking(
            Some("sg-b"),
            &tp,
            &IntOrString::Int(8080),
            Some(3000),
            false,
        )
        .unwrap();
        assert_eq!(
            ports(&rules),
            vec![
                Some(tp.clone()),
                Some(IntOrString::Int(8080)),
                Some(IntOrString::Int(3000))
            ]
        );
        let rules = tgb_networking(
            Some("sg-b"),
            &tp,
            &IntOrString::Str(TRAFFIC_PORT.into()),
            None,
            false,
        )
        .unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules[0].from,
            vec![NetworkingPeer::SecurityGroup("sg-b".into())]
        );
    }

    #[test]
    fn unrestricted_and_no_source() {
        let tp = IntOrString::Str("web".into());
        let all =
            tgb_networking(Some("sg-b"), &tp, &IntOrString::Int(9000), Some(1), true).unwrap();
        assert_eq!(ports(&all), vec![None]);
        assert_eq!(tgb_networking(None, &tp, &tp, None, false), None);
    }
}
