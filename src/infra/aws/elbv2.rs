//! ELBv2 SDK types → World types. Pure functions; no SDK type leaves this module.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types as sdk;

use crate::world::{Listener, LoadBalancer, Tags, TargetGroup, TargetHealth};

fn s(v: Option<&str>) -> String {
    v.unwrap_or_default().to_string()
}

fn o(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

pub fn tags(t: &[sdk::Tag]) -> Tags {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// A load balancer without tags or attributes (those come from their own calls).
pub fn load_balancer(lb: &sdk::LoadBalancer) -> LoadBalancer {
    LoadBalancer {
        arn: s(lb.load_balancer_arn()),
        name: s(lb.load_balancer_name()),
        dns_name: s(lb.dns_name()),
        type_: lb
            .r#type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        scheme: lb
            .scheme()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        ip_address_type: lb
            .ip_address_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        vpc_id: o(lb.vpc_id()),
        security_groups: lb.security_groups().to_vec(),
        subnets: lb
            .availability_zones()
            .iter()
            .filter_map(|z| o(z.subnet_id()))
            .collect(),
        state: lb
            .state()
            .and_then(|st| st.code())
            .map(|c| c.as_str().to_string()),
        enforce_private_link_sg: o(
            lb.enforce_security_group_inbound_rules_on_private_link_traffic()
        ),
        tags: Tags::new(),
        attributes: None,
    }
}

/// The target groups a listener's default actions forward to (plain or weighted forward).
pub fn listener(l: &sdk::Listener) -> Listener {
    let mut tgs: Vec<String> = Vec::new();
    for a in l.default_actions() {
        if let Some(arn) = a.target_group_arn() {
            tgs.push(arn.to_string());
        }
        if let Some(f) = a.forward_config() {
            tgs.extend(
                f.target_groups()
                    .iter()
                    .filter_map(|t| o(t.target_group_arn())),
            );
        }
    }
    tgs.sort();
    tgs.dedup();
    Listener {
        arn: s(l.listener_arn()),
        load_balancer_arn: s(l.load_balancer_arn()),
        port: l.port().unwrap_or_default(),
        protocol: l
            .protocol()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        target_group_arns: tgs,
    }
}

/// A target group without tags.
pub fn target_group(t: &sdk::TargetGroup) -> TargetGroup {
    TargetGroup {
        arn: s(t.target_group_arn()),
        name: s(t.target_group_name()),
        protocol: t.protocol().map(|p| p.as_str().to_string()),
        port: t.port(),
        target_type: t
            .target_type()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        vpc_id: o(t.vpc_id()),
        load_balancer_arns: t.load_balancer_arns().to_vec(),
        health_check_port: o(t.health_check_port()),
        health_check_protocol: t.health_check_protocol().map(|p| p.as_str().to_string()),
        ip_address_type: t.ip_address_type().map(|p| p.as_str().to_string()),
        tags: Tags::new(),
    }
}

pub fn target_health(d: &sdk::TargetHealthDescription) -> TargetHealth {
    let target = d.target();
    let health = d.target_health();
    TargetHealth {
        id: s(target.and_then(|t| t.id())),
        port: target.and_then(|t| t.port()),
        availability_zone: o(target.and_then(|t| t.availability_zone())),
        health_check_port: o(d.health_check_port()),
        state: health
            .and_then(|h| h.state())
            .map(|st| st.as_str().to_string())
            .unwrap_or_default(),
        reason: health
            .and_then(|h| h.reason())
            .map(|r| r.as_str().to_string()),
        description: o(health.and_then(|h| h.description())),
    }
}

pub fn attributes(a: &[sdk::LoadBalancerAttribute]) -> BTreeMap<String, String> {
    a.iter()
        .filter_map(|a| Some((a.key()?.to_string(), s(a.value()))))
        .collect()
}

/// The account of an ARN (`arn:aws:elasticloadbalancing:us-east-1:123456789012:…`).
pub fn account_of_arn(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_type_comes_from_the_type_field_not_the_arn() {
        // moto writes `app/` into NLB ARNs; the type field is what counts.
        let lb = sdk::LoadBalancer::builder()
            .load_balancer_arn(
                "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/n/1",
            )
            .r#type(sdk::LoadBalancerTypeEnum::Network)
            .scheme(sdk::LoadBalancerSchemeEnum::Internal)
            .ip_address_type(sdk::IpAddressType::Dualstack)
            .security_groups("sg-1")
            .enforce_security_group_inbound_rules_on_private_link_traffic("off")
            .availability_zones(
                sdk::AvailabilityZone::builder()
                    .subnet_id("subnet-1")
                    .build(),
            )
            .build();
        let w = load_balancer(&lb);
        assert!(w.is_nlb());
        assert_eq!(w.scheme, "internal");
        assert_eq!(w.ip_address_type, "dualstack");
        assert_eq!(w.enforce_private_link_sg.as_deref(), Some("off"));
        assert_eq!(w.subnets, vec!["subnet-1".to_string()]);
        assert_eq!(account_of_arn(&w.arn).as_deref(), Some("111122223333"));
    }

    #[test]
    fn listener_collects_forward_targets() {
        let l = sdk::Listener::builder()
            .listener_arn("l")
            .port(443)
            .protocol(sdk::ProtocolEnum::Https)
            .default_actions(
                sdk::Action::builder()
                    .r#type(sdk::ActionTypeEnum::Forward)
                    .forward_config(
                        sdk::ForwardActionConfig::builder()
                            .target_groups(
                                sdk::TargetGroupTuple::builder()
                                    .target_group_arn("tg-b")
                                    .build(),
                            )
                            .target_groups(
                                sdk::TargetGroupTuple::builder()
                                    .target_group_arn("tg-a")
                                    .build(),
                            )
                            .build(),
                    )
                    .target_group_arn("tg-a")
                    .build(),
            )
            .build();
        let w = listener(&l);
        assert_eq!(w.protocol, "HTTPS");
        assert_eq!(
            w.target_group_arns,
            vec!["tg-a".to_string(), "tg-b".to_string()]
        );
    }

    #[test]
    fn target_health_keeps_state_and_reason() {
        let d = sdk::TargetHealthDescription::builder()
            .target(
                sdk::TargetDescription::builder()
                    .id("10.0.1.5")
                    .port(8080)
                    .build(),
            )
            .target_health(
                sdk::TargetHealth::builder()
                    .state(sdk::TargetHealthStateEnum::Unhealthy)
                    .reason(sdk::TargetHealthReasonEnum::FailedHealthChecks)
                    .description("Health checks failed")
                    .build(),
            )
            .build();
        let w = target_health(&d);
        assert_eq!(w.state, "unhealthy");
        assert_eq!(w.reason.as_deref(), Some("Target.FailedHealthChecks"));
        assert_eq!(w.port, Some(8080));
    }
}
