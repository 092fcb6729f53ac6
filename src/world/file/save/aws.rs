//! The AWS side as the AWS CLI prints it (`--output json` shapes, PascalCase).

use serde_json::{Map, Value, json};

use super::{Obj, aws_tags, strs};
use crate::world::aws::*;

pub(super) fn aws(a: &AwsSide) -> Obj {
    let mut ec2 = Obj::new();
    if let Some(vpcs) = &a.vpcs {
        ec2 = ec2.set(
            "DescribeVpcs",
            json!({"Vpcs": vpcs.iter().map(vpc).collect::<Vec<_>>()}),
        );
    }
    if let Some(subnets) = &a.subnets {
        let list: Vec<Value> = subnets.values().map(subnet).collect();
        ec2 = ec2.set("DescribeSubnets", json!({"Subnets": list}));
    }
    if let Some(groups) = &a.security_groups {
        let list: Vec<Value> = groups.values().map(security_group).collect();
        ec2 = ec2.set("DescribeSecurityGroups", json!({"SecurityGroups": list}));
        let rules: Vec<Value> = groups.values().flat_map(sg_rule_details).collect();
        if !rules.is_empty() {
            ec2 = ec2.set(
                "DescribeSecurityGroupRules",
                json!({"SecurityGroupRules": rules}),
            );
        }
    }
    if let Some(enis) = &a.enis {
        let list: Vec<Value> = enis.values().map(eni).collect();
        ec2 = ec2.set(
            "DescribeNetworkInterfaces",
            json!({"NetworkInterfaces": list}),
        );
    }
    if let Some(instances) = &a.instances {
        let list: Vec<Value> = instances.values().map(instance).collect();
        let reservations = if list.is_empty() {
            Vec::new()
        } else {
            vec![json!({"Instances": list})]
        };
        ec2 = ec2.set("DescribeInstances", json!({"Reservations": reservations}));
    }
    if let Some(lists) = &a.prefix_lists {
        let list: Vec<Value> = lists.values().map(prefix_list).collect();
        ec2 = ec2.set("DescribeManagedPrefixLists", json!({"PrefixLists": list}));
        let entries: Map<String, Value> = lists
            .values()
            .filter_map(|pl| {
                pl.entries.as_ref().map(|e| {
                    let e: Vec<Value> = e.iter().map(|c| json!({"Cidr": c})).collect();
                    (pl.id.clone(), json!({"Entries": e}))
                })
            })
            .collect();
        if !entries.is_empty() {
            ec2 = ec2.set("GetManagedPrefixListEntries", Value::Object(entries));
        }
    }

    let mut elb = Obj::new();
    if let Some(lbs) = &a.load_balancers {
        let list: Vec<Value> = lbs.values().map(load_balancer).collect();
        elb = elb.set("DescribeLoadBalancers", json!({"LoadBalancers": list}));
    }
    if let Some(listeners) = &a.listeners {
        let list: Vec<Value> = listeners.values().map(listener).collect();
        elb = elb.set("DescribeListeners", json!({"Listeners": list}));
    }
    if let Some(tgs) = &a.target_groups {
        let list: Vec<Value> = tgs.values().map(target_group).collect();
        elb = elb.set("DescribeTargetGroups", json!({"TargetGroups": list}));
    }
    if let Some(health) = &a.target_health {
        let by_arn: Map<String, Value> = health
            .iter()
            .map(|(arn, list)| {
                let d: Vec<Value> = list.iter().map(target_health).collect();
                (arn.clone(), json!({"TargetHealthDescriptions": d}))
            })
            .collect();
        elb = elb.set("DescribeTargetHealth", Value::Object(by_arn));
    }
    let lb_tags = a
        .load_balancers
        .iter()
        .flat_map(|m| m.values())
        .map(|lb| (&lb.arn, &lb.tags));
    let tg_tags = a
        .target_groups
        .iter()
        .flat_map(|m| m.values())
        .map(|tg| (&tg.arn, &tg.tags));
    let descriptions: Vec<Value> = lb_tags
        .chain(tg_tags)
        .filter(|(_, t)| !t.is_empty())
        .map(|(arn, t)| json!({"ResourceArn": arn, "Tags": aws_tags(t)}))
        .collect();
    if !descriptions.is_empty() {
        elb = elb.set("DescribeTags", json!({"TagDescriptions": descriptions}));
    }
    let attributes: Map<String, Value> = a
        .load_balancers
        .iter()
        .flat_map(|m| m.values())
        .filter_map(|lb| {
            lb.attributes.as_ref().map(|attrs| {
                let list: Vec<Value> = attrs
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect();
                (lb.arn.clone(), json!({"Attributes": list}))
            })
        })
        .collect();
    if !attributes.is_empty() {
        elb = elb.set("DescribeLoadBalancerAttributes", Value::Object(attributes));
    }

    let mut out = Obj::new();
    if !ec2.is_empty() {
        out = out.set("ec2", ec2.done());
    }
    if !elb.is_empty() {
        out = out.set("elbv2", elb.done());
    }
    out
}

fn cidr_blocks(blocks: &[CidrBlock], cidr_key: &str, state_key: &str) -> Vec<Value> {
    blocks
        .iter()
        .map(|b| {
            Obj::new()
                .set(cidr_key, b.cidr.as_str())
                .opt(state_key, b.state.as_ref().map(|s| json!({"State": s})))
                .done()
        })
        .collect()
}

fn vpc(v: &Vpc) -> Value {
    Obj::new()
        .opt("CidrBlock", v.cidr_blocks.first().map(|b| b.cidr.clone()))
        .set("VpcId", v.id.as_str())
        .list(
            "CidrBlockAssociationSet",
            cidr_blocks(&v.cidr_blocks, "CidrBlock", "CidrBlockState"),
        )
        .list(
            "Ipv6CidrBlockAssociationSet",
            cidr_blocks(&v.ipv6_cidr_blocks, "Ipv6CidrBlock", "Ipv6CidrBlockState"),
        )
        .list("Tags", aws_tags(&v.tags))
        .done()
}

fn subnet(s: &Subnet) -> Value {
    let v6: Vec<Value> = s
        .ipv6_cidrs
        .iter()
        .map(|c| json!({"Ipv6CidrBlock": c}))
        .collect();
    Obj::new()
        .opt("AvailabilityZone", s.availability_zone.clone())
        .text("CidrBlock", &s.cidr)
        .set("SubnetId", s.id.as_str())
        .set("VpcId", s.vpc_id.as_str())
        .list("Ipv6CidrBlockAssociationSet", v6)
        .list("Tags", aws_tags(&s.tags))
        .done()
}

fn port_fields(obj: Obj, r: &Rule) -> Obj {
    obj.opt("FromPort", r.from_port).opt("ToPort", r.to_port)
}

/// Rules back into EC2 permissions: consecutive rules with one protocol and port range share a
/// permission, as long as their sources stay in EC2's order (IpRanges, Ipv6Ranges,
/// PrefixListIds, UserIdGroupPairs), so reading the file expands them into the same order.
fn permissions(rules: &[SgRule]) -> Vec<Value> {
    fn rank(s: &Source) -> u8 {
        match s {
            Source::Cidr(_) => 0,
            Source::CidrV6(_) => 1,
            Source::PrefixList(_) => 2,
            Source::Group(_) => 3,
            Source::None => 4,
        }
    }
    let mut groups: Vec<Vec<&Rule>> = Vec::new();
    for r in rules.iter().map(|r| &r.rule) {
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|last| {
            last.protocol == r.protocol
                && last.from_port == r.from_port
                && last.to_port == r.to_port
                && rank(&last.source) <= rank(&r.source)
                && !matches!(r.source, Source::None)
                && !matches!(last.source, Source::None)
        });
        match groups.last_mut() {
            Some(g) if joins => g.push(r),
            _ => groups.push(vec![r]),
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let first = g[0];
            let mut by_kind: [Vec<Value>; 4] = Default::default();
            for r in &g {
                let d = |o: Obj| o.text("Description", &r.description).done();
                match &r.source {
                    Source::Cidr(c) => by_kind[0].push(d(Obj::new().set("CidrIp", c.as_str()))),
                    Source::CidrV6(c) => by_kind[1].push(d(Obj::new().set("CidrIpv6", c.as_str()))),
                    Source::PrefixList(p) => {
                        by_kind[2].push(d(Obj::new().set("PrefixListId", p.as_str())))
                    }
                    Source::Group(id) => by_kind[3].push(d(Obj::new().set("GroupId", id.as_str()))),
                    Source::None => {}
                }
            }
            let [v4, v6, pl, sg] = by_kind;
            port_fields(Obj::new().set("IpProtocol", first.protocol.as_str()), first)
                .set("IpRanges", Value::Array(v4))
                .set("Ipv6Ranges", Value::Array(v6))
                .set("PrefixListIds", Value::Array(pl))
                .set("UserIdGroupPairs", Value::Array(sg))
                .done()
        })
        .collect()
}

fn security_group(g: &SecurityGroup) -> Value {
    // The AWS CLI's key order.
    Obj::new()
        .set("GroupId", g.id.as_str())
        .set("IpPermissionsEgress", Value::Array(permissions(&g.egress)))
        .list("Tags", aws_tags(&g.tags))
        .opt("VpcId", g.vpc_id.clone())
        .opt("OwnerId", g.owner_id.clone())
        .set("GroupName", g.name.as_str())
        .set("Description", g.description.as_str())
        .set("IpPermissions", Value::Array(permissions(&g.ingress)))
        .done()
}

/// DescribeSecurityGroupRules entries for the rules that carry an id or tags.
fn sg_rule_details(g: &SecurityGroup) -> Vec<Value> {
    let ingress = g.ingress.iter().map(|r| (false, r));
    let egress = g.egress.iter().map(|r| (true, r));
    ingress
        .chain(egress)
        .filter(|(_, r)| r.id.is_some() || !r.tags.is_empty())
        .map(|(is_egress, r)| {
            let rule = &r.rule;
            let all = rule.protocol == "-1";
            let mut o = Obj::new()
                .opt("SecurityGroupRuleId", r.id.clone())
                .set("GroupId", g.id.as_str())
                .opt("GroupOwnerId", g.owner_id.clone())
                .set("IsEgress", is_egress)
                .set("IpProtocol", rule.protocol.as_str())
                .opt("FromPort", if all { Some(-1) } else { rule.from_port })
                .opt("ToPort", if all { Some(-1) } else { rule.to_port });
            o = match &rule.source {
                Source::Cidr(c) => o.set("CidrIpv4", c.as_str()),
                Source::CidrV6(c) => o.set("CidrIpv6", c.as_str()),
                Source::PrefixList(p) => o.set("PrefixListId", p.as_str()),
                Source::Group(id) => o.set("ReferencedGroupInfo", json!({"GroupId": id})),
                Source::None => o,
            };
            o.text("Description", &rule.description)
                .set("Tags", Value::Array(aws_tags(&r.tags)))
                .done()
        })
        .collect()
}

fn eni(e: &NetworkInterface) -> Value {
    let attachment = e.attachment.as_ref().map(|a| {
        Obj::new()
            .opt("DeviceIndex", a.device_index)
            .opt("InstanceId", a.instance_id.clone())
            .done()
    });
    let private: Vec<Value> = e
        .private_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| json!({"Primary": i == 0, "PrivateIpAddress": ip}))
        .collect();
    let groups: Vec<Value> = e.groups.iter().map(|g| json!({"GroupId": g})).collect();
    let v6: Vec<Value> = e
        .ipv6_addresses
        .iter()
        .map(|a| json!({"Ipv6Address": a}))
        .collect();
    let p4: Vec<Value> = e
        .ipv4_prefixes
        .iter()
        .map(|p| json!({"Ipv4Prefix": p}))
        .collect();
    let p6: Vec<Value> = e
        .ipv6_prefixes
        .iter()
        .map(|p| json!({"Ipv6Prefix": p}))
        .collect();
    Obj::new()
        .opt("Attachment", attachment)
        .set("Description", e.description.as_str())
        .set("Groups", Value::Array(groups))
        .opt("InterfaceType", e.interface_type.clone())
        .list("Ipv6Addresses", v6)
        .set("NetworkInterfaceId", e.id.as_str())
        .opt("PrivateIpAddress", e.private_ips.first().cloned())
        .list("PrivateIpAddresses", private)
        .list("Ipv4Prefixes", p4)
        .list("Ipv6Prefixes", p6)
        .opt("Status", e.status.clone())
        .opt("SubnetId", e.subnet_id.clone())
        .set("TagSet", Value::Array(aws_tags(&e.tags)))
        .opt("VpcId", e.vpc_id.clone())
        .done()
}

/// EC2's numeric code for an instance state name.
fn state_code(name: &str) -> Option<i32> {
    Some(match name {
        "pending" => 0,
        "running" => 16,
        "shutting-down" => 32,
        "terminated" => 48,
        "stopping" => 64,
        "stopped" => 80,
        _ => return None,
    })
}

fn instance(i: &Instance) -> Value {
    let enis: Vec<Value> = i
        .enis
        .iter()
        .map(|e| json!({"Attachment": {"DeviceIndex": e.device_index}, "NetworkInterfaceId": e.id}))
        .collect();
    let groups: Vec<Value> = i
        .security_groups
        .iter()
        .map(|g| json!({"GroupId": g}))
        .collect();
    let state = i.state.as_ref().map(|s| {
        Obj::new()
            .opt("Code", state_code(s))
            .set("Name", s.as_str())
            .done()
    });
    Obj::new()
        .set("InstanceId", i.id.as_str())
        .opt("PrivateDnsName", i.private_dns_name.clone())
        .opt("PrivateIpAddress", i.private_ip.clone())
        .opt("State", state)
        .opt("SubnetId", i.subnet_id.clone())
        .opt("VpcId", i.vpc_id.clone())
        .set("NetworkInterfaces", Value::Array(enis))
        .set("SecurityGroups", Value::Array(groups))
        .list("Tags", aws_tags(&i.tags))
        .done()
}

fn prefix_list(p: &PrefixList) -> Value {
    Obj::new()
        .set("PrefixListId", p.id.as_str())
        .opt("AddressFamily", p.address_family.clone())
        .opt("MaxEntries", p.max_entries)
        .set("PrefixListName", p.name.as_str())
        .done()
}

fn load_balancer(lb: &LoadBalancer) -> Value {
    let zones: Vec<Value> = lb.subnets.iter().map(|s| json!({"SubnetId": s})).collect();
    Obj::new()
        .set("LoadBalancerArn", lb.arn.as_str())
        .set("DNSName", lb.dns_name.as_str())
        .set("LoadBalancerName", lb.name.as_str())
        .set("Scheme", lb.scheme.as_str())
        .opt("VpcId", lb.vpc_id.clone())
        .opt("State", lb.state.as_ref().map(|s| json!({"Code": s})))
        .set("Type", lb.type_.as_str())
        .set("AvailabilityZones", Value::Array(zones))
        // Absent, not empty, for an NLB without security groups: that is how AWS prints it.
        .list("SecurityGroups", strs(&lb.security_groups))
        .set("IpAddressType", lb.ip_address_type.as_str())
        .opt(
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
            lb.enforce_private_link_sg.clone(),
        )
        .done()
}

fn listener(l: &Listener) -> Value {
    let actions = match l.target_group_arns.as_slice() {
        [] => Vec::new(),
        [one] => vec![json!({
            "Type": "forward",
            "TargetGroupArn": one,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": one, "Weight": 1}]},
        })],
        many => {
            let tgs: Vec<Value> = many
                .iter()
                .map(|a| json!({"TargetGroupArn": a, "Weight": 1}))
                .collect();
            vec![json!({"Type": "forward", "ForwardConfig": {"TargetGroups": tgs}})]
        }
    };
    Obj::new()
        .set("ListenerArn", l.arn.as_str())
        .set("LoadBalancerArn", l.load_balancer_arn.as_str())
        .opt("Port", (l.port != 0).then_some(l.port))
        .text("Protocol", &l.protocol)
        .set("DefaultActions", Value::Array(actions))
        .done()
}

fn target_group(t: &TargetGroup) -> Value {
    Obj::new()
        .set("TargetGroupArn", t.arn.as_str())
        .set("TargetGroupName", t.name.as_str())
        .opt("Protocol", t.protocol.clone())
        .opt("Port", t.port)
        .opt("VpcId", t.vpc_id.clone())
        .opt("HealthCheckProtocol", t.health_check_protocol.clone())
        .opt("HealthCheckPort", t.health_check_port.clone())
        .set(
            "LoadBalancerArns",
            Value::Array(strs(&t.load_balancer_arns)),
        )
        .set("TargetType", t.target_type.as_str())
        .opt("IpAddressType", t.ip_address_type.clone())
        .done()
}

fn target_health(h: &TargetHealth) -> Value {
    let target = Obj::new()
        .set("Id", h.id.as_str())
        .opt("Port", h.port)
        .opt("AvailabilityZone", h.availability_zone.clone());
    let health = Obj::new()
        .set("State", h.state.as_str())
        .opt("Reason", h.reason.clone())
        .opt("Description", h.description.clone());
    Obj::new()
        .set("Target", target.done())
        .opt("HealthCheckPort", h.health_check_port.clone())
        .set("TargetHealth", health.done())
        .done()
}
