//! Elastic Load Balancing (v2) responses: load balancers, listeners, target groups, target
//! health, tags and attributes.

use std::collections::BTreeMap;

use super::super::located::{At, Res, Unique};
use super::{Calls, items, keyed, keyed_section, tags};
use crate::world::aws::*;

pub(in crate::world::file) const ELBV2_CALLS: &[&str] = &[
    "DescribeLoadBalancers",
    "DescribeListeners",
    "DescribeTargetGroups",
    "DescribeTargetHealth",
    "DescribeTags",
    "DescribeLoadBalancerAttributes",
];

/// Reads the `aws:` section, consuming its tree call by call.
pub(super) fn read(calls: &mut Calls<'_>, side: &mut AwsSide) -> Res<()> {
    side.load_balancers = calls.read("DescribeLoadBalancers", |call| {
        keyed_section(
            "load balancer",
            "LoadBalancerArn",
            items(call, "LoadBalancers")?,
            read_lb,
        )
    })?;
    side.listeners = calls.read("DescribeListeners", |call| {
        keyed_section(
            "listener",
            "ListenerArn",
            items(call, "Listeners")?,
            read_listener,
        )
    })?;
    side.target_groups = calls.read("DescribeTargetGroups", |call| {
        keyed_section(
            "target group",
            "TargetGroupArn",
            items(call, "TargetGroups")?,
            read_tg,
        )
    })?;
    side.target_health = calls.read("DescribeTargetHealth", |call| {
        let mut health = BTreeMap::new();
        for (arn, descriptions) in keyed(call, "TargetHealthDescriptions")? {
            let list = descriptions
                .iter()
                .map(read_target_health)
                .collect::<Res<_>>()?;
            health.insert(arn, list);
        }
        Ok(health)
    })?;
    let (lbs, tgs) = (&mut side.load_balancers, &mut side.target_groups);
    calls.read("DescribeTags", |call| {
        let mut seen = Unique::default();
        for d in items(call, "TagDescriptions")? {
            let arn_at = d.req("ResourceArn")?;
            let arn = arn_at.str()?;
            seen.check("tag description", &arn, &arn_at)?;
            let t = tags(&d, "Tags")?;
            if let Some(lb) = lbs.as_mut().and_then(|m| m.get_mut(&arn)) {
                lb.tags = t;
            } else if let Some(tg) = tgs.as_mut().and_then(|m| m.get_mut(&arn)) {
                tg.tags = t;
            }
        }
        Ok(())
    })?;
    calls.read("DescribeLoadBalancerAttributes", |call| {
        for (arn, attributes) in keyed(call, "Attributes")? {
            let mut map = BTreeMap::new();
            for a in attributes {
                map.insert(a.req_str("Key")?, a.str_or_empty("Value")?);
            }
            if let Some(lb) = lbs.as_mut().and_then(|m| m.get_mut(&arn)) {
                lb.attributes = Some(map);
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn read_lb(at: &At<'_>, arn: String) -> Res<LoadBalancer> {
    Ok(LoadBalancer {
        arn,
        name: at.str_or_empty("LoadBalancerName")?,
        dns_name: at.str_or_empty("DNSName")?,
        type_: at.str_or_empty("Type")?,
        scheme: at.str_or_empty("Scheme")?,
        ip_address_type: at.str_or_empty("IpAddressType")?,
        vpc_id: at.opt_str("VpcId")?,
        // Absent for an NLB created without security groups.
        security_groups: at.str_list("SecurityGroups")?,
        subnets: at
            .list("AvailabilityZones")?
            .iter()
            .filter_map(|z| z.opt_str("SubnetId").transpose())
            .collect::<Res<_>>()?,
        state: at
            .get("State")?
            .map(|s| s.opt_str("Code"))
            .transpose()?
            .flatten(),
        enforce_private_link_sg: at
            .opt_str("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic")?,
        tags: Tags::new(),
        attributes: None,
    })
}

fn read_listener(at: &At<'_>, arn: String) -> Res<Listener> {
    let mut target_group_arns: Vec<String> = Vec::new();
    let mut add = |arn: String| {
        if !target_group_arns.contains(&arn) {
            target_group_arns.push(arn);
        }
    };
    for action in at.list("DefaultActions")? {
        if let Some(tg) = action.opt_str("TargetGroupArn")? {
            add(tg);
        }
        if let Some(fc) = action.get("ForwardConfig")? {
            for tg in fc.list("TargetGroups")? {
                add(tg.req_str("TargetGroupArn")?);
            }
        }
    }
    Ok(Listener {
        arn,
        load_balancer_arn: at.req_str("LoadBalancerArn")?,
        // Gateway LB listeners have no port.
        port: at
            .get("Port")?
            .map(|p| p.int_in(1, 65535))
            .transpose()?
            .unwrap_or(0),
        protocol: at.str_or_empty("Protocol")?,
        target_group_arns,
    })
}

fn read_tg(at: &At<'_>, arn: String) -> Res<TargetGroup> {
    Ok(TargetGroup {
        arn,
        name: at.str_or_empty("TargetGroupName")?,
        protocol: at.opt_str("Protocol")?,
        port: at.opt_port("Port")?,
        target_type: at.str_or_empty("TargetType")?,
        vpc_id: at.opt_str("VpcId")?,
        load_balancer_arns: at.str_list("LoadBalancerArns")?,
        health_check_port: at.opt_str("HealthCheckPort")?,
        health_check_protocol: at.opt_str("HealthCheckProtocol")?,
        ip_address_type: at.opt_str("IpAddressType")?,
        tags: Tags::new(),
    })
}

fn read_target_health(at: &At<'_>) -> Res<TargetHealth> {
    let target = at.req("Target")?;
    let health = at.req("TargetHealth")?;
    Ok(TargetHealth {
        id: target.req_str("Id")?,
        port: target.opt_port("Port")?,
        availability_zone: target.opt_str("AvailabilityZone")?,
        health_check_port: at.opt_str("HealthCheckPort")?,
        state: health.req_str("State")?,
        reason: health.opt_str("Reason")?,
        description: health.opt_str("Description")?,
    })
}
