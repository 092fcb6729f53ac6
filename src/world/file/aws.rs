//! AWS API responses as the AWS CLI prints them (`--output json`, PascalCase) → the world's
//! AWS types. Each call may be one response or a list of responses (pages).

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::located::{At, Res, Unique};
use crate::world::aws::*;

pub(super) const EC2_CALLS: &[&str] = &[
    "DescribeVpcs",
    "DescribeSubnets",
    "DescribeSecurityGroups",
    "DescribeSecurityGroupRules",
    "DescribeNetworkInterfaces",
    "DescribeInstances",
    "DescribeManagedPrefixLists",
    "GetManagedPrefixListEntries",
];

pub(super) const ELBV2_CALLS: &[&str] = &[
    "DescribeLoadBalancers",
    "DescribeListeners",
    "DescribeTargetGroups",
    "DescribeTargetHealth",
    "DescribeTags",
    "DescribeLoadBalancerAttributes",
];

pub(super) fn read(at: &At<'_>) -> Res<AwsSide> {
    at.only_keys(&["ec2", "elbv2"])?;
    let mut side = AwsSide::default();
    let mut seen = Unique::default();
    if let Some(ec2) = at.get("ec2")? {
        ec2.only_keys(EC2_CALLS)?;
        read_ec2(&ec2, &mut side, &mut seen)?;
    }
    if let Some(elb) = at.get("elbv2")? {
        elb.only_keys(ELBV2_CALLS)?;
        read_elbv2(&elb, &mut side, &mut seen)?;
    }
    Ok(side)
}

/// The items of one call: `{Key: [...]}` or a list of such pages.
fn items<'a>(call: &At<'a>, key: &str) -> Res<Vec<At<'a>>> {
    let pages = if call.is_seq() {
        call.seq()?
    } else {
        vec![call.clone()]
    };
    let mut out = Vec::new();
    for page in pages {
        out.extend(page.req(key)?.seq()?);
    }
    Ok(out)
}

/// A call keyed by resource (`{"<ARN>": response-or-pages}`): the items under `key`, per resource.
fn keyed<'a>(call: &At<'a>, key: &str) -> Res<Vec<(String, Vec<At<'a>>)>> {
    call.entries()?
        .into_iter()
        .map(|(id, response)| Ok((id.to_string(), items(&response, key)?)))
        .collect()
}

/// `[{Key, Value}]` → map (`Tags`, `TagSet`).
fn tags(at: &At<'_>, field: &str) -> Res<Tags> {
    let mut out = Tags::new();
    for t in at.list(field)? {
        out.insert(t.req_str("Key")?, t.str_or_empty("Value")?);
    }
    Ok(out)
}

/// Reads items into a keyed section, rejecting duplicate ids (also across pages).
fn keyed_section<'a, T>(
    seen: &mut Unique<'a>,
    what: &str,
    id_field: &str,
    list: Vec<At<'a>>,
    read: impl Fn(&At<'a>, String) -> Res<T>,
) -> Res<BTreeMap<String, T>> {
    let mut out = BTreeMap::new();
    for item in list {
        let id_at = item.req(id_field)?;
        let id = id_at.str()?;
        seen.check(what, &id, &id_at)?;
        out.insert(id.clone(), read(&item, id)?);
    }
    Ok(out)
}

fn read_ec2<'a>(ec2: &At<'a>, side: &mut AwsSide, seen: &mut Unique<'a>) -> Res<()> {
    if let Some(call) = ec2.get("DescribeVpcs")? {
        // A list in the world: document order is kept.
        let mut vpcs = Vec::new();
        for item in items(&call, "Vpcs")? {
            let id_at = item.req("VpcId")?;
            let id = id_at.str()?;
            seen.check("VPC", &id, &id_at)?;
            vpcs.push(read_vpc(&item, id)?);
        }
        side.vpcs = Some(vpcs);
    }
    if let Some(call) = ec2.get("DescribeSubnets")? {
        side.subnets = Some(keyed_section(
            seen,
            "subnet",
            "SubnetId",
            items(&call, "Subnets")?,
            read_subnet,
        )?);
    }
    if let Some(call) = ec2.get("DescribeSecurityGroups")? {
        let mut groups = keyed_section(
            seen,
            "security group",
            "GroupId",
            items(&call, "SecurityGroups")?,
            read_sg,
        )?;
        if let Some(rules) = ec2.get("DescribeSecurityGroupRules")? {
            attach_rule_details(&rules, &mut groups, seen)?;
        }
        side.security_groups = Some(groups);
    } else if let Some(rules) = ec2.get("DescribeSecurityGroupRules")? {
        // Nothing to attach to, but the rules must still be well-formed.
        attach_rule_details(&rules, &mut BTreeMap::new(), seen)?;
    }
    if let Some(call) = ec2.get("DescribeNetworkInterfaces")? {
        side.enis = Some(keyed_section(
            seen,
            "network interface",
            "NetworkInterfaceId",
            items(&call, "NetworkInterfaces")?,
            read_eni,
        )?);
    }
    if let Some(call) = ec2.get("DescribeInstances")? {
        let mut instances = Vec::new();
        for reservation in items(&call, "Reservations")? {
            instances.extend(reservation.list("Instances")?);
        }
        side.instances = Some(keyed_section(
            seen,
            "instance",
            "InstanceId",
            instances,
            read_instance,
        )?);
    }
    if let Some(call) = ec2.get("DescribeManagedPrefixLists")? {
        side.prefix_lists = Some(keyed_section(
            seen,
            "prefix list",
            "PrefixListId",
            items(&call, "PrefixLists")?,
            read_prefix_list,
        )?);
    }
    if let Some(call) = ec2.get("GetManagedPrefixListEntries")? {
        for (id, entries) in keyed(&call, "Entries")? {
            let cidrs = entries
                .iter()
                .map(|e| {
                    let c = e.req("Cidr")?;
                    if c.str()?.contains(':') {
                        c.cidr_v6()
                    } else {
                        c.cidr_v4()
                    }
                })
                .collect::<Res<Vec<_>>>()?;
            if let Some(pl) = side.prefix_lists.as_mut().and_then(|m| m.get_mut(&id)) {
                pl.entries = Some(cidrs);
            }
        }
    }
    Ok(())
}

fn read_vpc(at: &At<'_>, id: String) -> Res<Vpc> {
    let state = |b: &At<'_>, field: &str| -> Res<Option<String>> {
        b.get(field)?
            .map(|s| s.opt_str("State"))
            .transpose()
            .map(Option::flatten)
    };
    let cidr_blocks = if at.get("CidrBlockAssociationSet")?.is_some() {
        at.list("CidrBlockAssociationSet")?
            .iter()
            .map(|b| {
                Ok(CidrBlock {
                    cidr: b.req("CidrBlock")?.cidr_v4()?,
                    state: state(b, "CidrBlockState")?,
                })
            })
            .collect::<Res<_>>()?
    } else {
        at.get("CidrBlock")?
            .map(|c| {
                Ok(CidrBlock {
                    cidr: c.cidr_v4()?,
                    state: None,
                })
            })
            .into_iter()
            .collect::<Res<_>>()?
    };
    Ok(Vpc {
        id,
        cidr_blocks,
        ipv6_cidr_blocks: at
            .list("Ipv6CidrBlockAssociationSet")?
            .iter()
            .map(|b| {
                Ok(CidrBlock {
                    cidr: b.req("Ipv6CidrBlock")?.cidr_v6()?,
                    state: state(b, "Ipv6CidrBlockState")?,
                })
            })
            .collect::<Res<_>>()?,
        tags: tags(at, "Tags")?,
    })
}

fn read_subnet(at: &At<'_>, id: String) -> Res<Subnet> {
    Ok(Subnet {
        id,
        vpc_id: at.str_or_empty("VpcId")?,
        // IPv6-only subnets have no IPv4 block.
        cidr: at
            .get("CidrBlock")?
            .map(|c| c.cidr_v4())
            .transpose()?
            .unwrap_or_default(),
        ipv6_cidrs: at
            .list("Ipv6CidrBlockAssociationSet")?
            .iter()
            .map(|b| b.req("Ipv6CidrBlock")?.cidr_v6())
            .collect::<Res<_>>()?,
        availability_zone: at.opt_str("AvailabilityZone")?,
        tags: tags(at, "Tags")?,
    })
}

fn read_sg(at: &At<'_>, id: String) -> Res<SecurityGroup> {
    Ok(SecurityGroup {
        id,
        name: at.str_or_empty("GroupName")?,
        description: at.str_or_empty("Description")?,
        vpc_id: at.opt_str("VpcId")?,
        owner_id: at.opt_str("OwnerId")?,
        tags: tags(at, "Tags")?,
        ingress: permissions(at, "IpPermissions")?,
        egress: permissions(at, "IpPermissionsEgress")?,
    })
}

/// Protocols whose ports are real port numbers; the others use -1 (ICMP type/code, all traffic).
fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "6" | "17")
}

fn ports(at: &At<'_>, protocol: &str) -> Res<(Option<i32>, Option<i32>)> {
    let lo = if has_ports(protocol) { 0 } else { -1 };
    let read = |field: &str| at.get(field)?.map(|p| p.int_in(lo, 65535)).transpose();
    Ok((read("FromPort")?, read("ToPort")?))
}

/// EC2 groups sources per permission; the LBC (and lbsg) use one rule per source.
fn permissions(sg: &At<'_>, field: &str) -> Res<Vec<SgRule>> {
    let mut out = Vec::new();
    for p in sg.list(field)? {
        let protocol = p.req_str("IpProtocol")?;
        let (from_port, to_port) = ports(&p, &protocol)?;
        let mut sources = Vec::new();
        for r in p.list("IpRanges")? {
            sources.push((Source::Cidr(r.req("CidrIp")?.cidr_v4()?), r));
        }
        for r in p.list("Ipv6Ranges")? {
            sources.push((Source::CidrV6(r.req("CidrIpv6")?.cidr_v6()?), r));
        }
        for r in p.list("PrefixListIds")? {
            sources.push((Source::PrefixList(r.req_str("PrefixListId")?), r));
        }
        for r in p.list("UserIdGroupPairs")? {
            sources.push((Source::Group(r.req_str("GroupId")?), r));
        }
        let rule = |source, description| SgRule {
            rule: Rule {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source,
                description,
            },
            id: None,
            tags: Tags::new(),
        };
        if sources.is_empty() {
            out.push(rule(Source::None, String::new()));
        }
        for (source, r) in sources {
            out.push(rule(source, r.str_or_empty("Description")?));
        }
    }
    Ok(out)
}

/// What ties a DescribeSecurityGroupRules entry to an expanded permission. The rules API prints
/// -1/-1 where DescribeSecurityGroups omits the ports, and ports mean nothing for protocol -1.
fn match_key(rule: &Rule) -> (String, i32, i32, Source) {
    let (from, to) = if rule.protocol == "-1" {
        (-1, -1)
    } else {
        (rule.from_port.unwrap_or(-1), rule.to_port.unwrap_or(-1))
    };
    (rule.protocol.clone(), from, to, rule.source.clone())
}

/// Adds rule ids and tags from DescribeSecurityGroupRules to the matching expanded rules (same
/// group, direction and identity). An entry that matches nothing loaded is ignored: the two
/// calls may have been made at different times.
fn attach_rule_details<'a>(
    call: &At<'a>,
    groups: &mut BTreeMap<String, SecurityGroup>,
    seen: &mut Unique<'a>,
) -> Res<()> {
    // Per group and direction, the indexes of each match key not yet taken, in list order:
    // an entry takes the first one (built when the group is first seen, so each entry costs
    // one lookup instead of a scan of its group's rules).
    type Queues = HashMap<(String, i32, i32, Source), VecDeque<usize>>;
    let mut untaken: HashMap<(String, bool), Queues> = HashMap::new();
    for at in items(call, "SecurityGroupRules")? {
        let group_id = at.req_str("GroupId")?;
        let protocol = at.req_str("IpProtocol")?;
        let (from_port, to_port) = ports(&at, &protocol)?;
        let source = if let Some(c) = at.get("CidrIpv4")? {
            Source::Cidr(c.cidr_v4()?)
        } else if let Some(c) = at.get("CidrIpv6")? {
            Source::CidrV6(c.cidr_v6()?)
        } else if let Some(p) = at.opt_str("PrefixListId")? {
            Source::PrefixList(p)
        } else if let Some(g) = at.get("ReferencedGroupInfo")? {
            Source::Group(g.req_str("GroupId")?)
        } else {
            Source::None
        };
        let id = match at.get("SecurityGroupRuleId")? {
            Some(id_at) => {
                let id = id_at.str()?;
                seen.check("security group rule", &id, &id_at)?;
                Some(id)
            }
            None => None,
        };
        let egress = at.opt_bool("IsEgress")?.unwrap_or(false);
        let rule_tags = tags(&at, "Tags")?;
        let key = match_key(&Rule {
            protocol,
            from_port,
            to_port,
            source,
            description: String::new(),
        });
        let Some(sg) = groups.get_mut(&group_id) else {
            continue;
        };
        let list = if egress {
            &mut sg.egress
        } else {
            &mut sg.ingress
        };
        let queues = untaken.entry((group_id, egress)).or_insert_with(|| {
            let mut q = Queues::new();
            for (i, r) in list.iter().enumerate() {
                q.entry(match_key(&r.rule)).or_default().push_back(i);
            }
            q
        });
        let found = queues.get_mut(&key).and_then(VecDeque::pop_front);
        if let Some(r) = found.and_then(|i| list.get_mut(i)) {
            r.id = id;
            r.tags = rule_tags;
        }
    }
    Ok(())
}

fn read_eni(at: &At<'_>, id: String) -> Res<NetworkInterface> {
    let mut private_ips = at
        .list("PrivateIpAddresses")?
        .iter()
        .map(|a| a.req("PrivateIpAddress")?.ip_v4())
        .collect::<Res<Vec<_>>>()?;
    if private_ips.is_empty() {
        private_ips.extend(at.get("PrivateIpAddress")?.map(|a| a.ip_v4()).transpose()?);
    }
    let attachment = at
        .get("Attachment")?
        .map(|a| {
            Ok(EniAttachment {
                instance_id: a.opt_str("InstanceId")?,
                device_index: a.opt_i32("DeviceIndex")?,
            })
        })
        .transpose()?;
    Ok(NetworkInterface {
        id,
        subnet_id: at.opt_str("SubnetId")?,
        vpc_id: at.opt_str("VpcId")?,
        description: at.str_or_empty("Description")?,
        interface_type: at.opt_str("InterfaceType")?,
        groups: at
            .list("Groups")?
            .iter()
            .map(|g| g.req_str("GroupId"))
            .collect::<Res<_>>()?,
        private_ips,
        ipv6_addresses: at
            .list("Ipv6Addresses")?
            .iter()
            .map(|a| a.req("Ipv6Address")?.ip_v6())
            .collect::<Res<_>>()?,
        ipv4_prefixes: at
            .list("Ipv4Prefixes")?
            .iter()
            .map(|p| p.req("Ipv4Prefix")?.cidr_v4())
            .collect::<Res<_>>()?,
        ipv6_prefixes: at
            .list("Ipv6Prefixes")?
            .iter()
            .map(|p| p.req("Ipv6Prefix")?.cidr_v6())
            .collect::<Res<_>>()?,
        attachment,
        status: at.opt_str("Status")?,
        tags: tags(at, "TagSet")?,
    })
}

fn read_instance(at: &At<'_>, id: String) -> Res<Instance> {
    Ok(Instance {
        id,
        private_ip: at.get("PrivateIpAddress")?.map(|a| a.ip_v4()).transpose()?,
        private_dns_name: at.opt_str("PrivateDnsName")?,
        subnet_id: at.opt_str("SubnetId")?,
        vpc_id: at.opt_str("VpcId")?,
        state: at
            .get("State")?
            .map(|s| s.opt_str("Name"))
            .transpose()?
            .flatten(),
        enis: at
            .list("NetworkInterfaces")?
            .iter()
            .map(|n| {
                Ok(InstanceEni {
                    id: n.req_str("NetworkInterfaceId")?,
                    device_index: n.req("Attachment")?.req("DeviceIndex")?.i32()?,
                })
            })
            .collect::<Res<_>>()?,
        security_groups: at
            .list("SecurityGroups")?
            .iter()
            .map(|g| g.req_str("GroupId"))
            .collect::<Res<_>>()?,
        tags: tags(at, "Tags")?,
    })
}

fn read_prefix_list(at: &At<'_>, id: String) -> Res<PrefixList> {
    Ok(PrefixList {
        id,
        name: at.str_or_empty("PrefixListName")?,
        address_family: at.opt_str("AddressFamily")?,
        max_entries: at.opt_i32("MaxEntries")?,
        entries: None,
    })
}

fn read_elbv2<'a>(elb: &At<'a>, side: &mut AwsSide, seen: &mut Unique<'a>) -> Res<()> {
    if let Some(call) = elb.get("DescribeLoadBalancers")? {
        side.load_balancers = Some(keyed_section(
            seen,
            "load balancer",
            "LoadBalancerArn",
            items(&call, "LoadBalancers")?,
            read_lb,
        )?);
    }
    if let Some(call) = elb.get("DescribeListeners")? {
        side.listeners = Some(keyed_section(
            seen,
            "listener",
            "ListenerArn",
            items(&call, "Listeners")?,
            read_listener,
        )?);
    }
    if let Some(call) = elb.get("DescribeTargetGroups")? {
        side.target_groups = Some(keyed_section(
            seen,
            "target group",
            "TargetGroupArn",
            items(&call, "TargetGroups")?,
            read_tg,
        )?);
    }
    if let Some(call) = elb.get("DescribeTargetHealth")? {
        let mut health = BTreeMap::new();
        for (arn, descriptions) in keyed(&call, "TargetHealthDescriptions")? {
            let list = descriptions
                .iter()
                .map(read_target_health)
                .collect::<Res<_>>()?;
            health.insert(arn, list);
        }
        side.target_health = Some(health);
    }
    if let Some(call) = elb.get("DescribeTags")? {
        for d in items(&call, "TagDescriptions")? {
            let arn_at = d.req("ResourceArn")?;
            let arn = arn_at.str()?;
            seen.check("tag description", &arn, &arn_at)?;
            let t = tags(&d, "Tags")?;
            if let Some(lb) = side.load_balancers.as_mut().and_then(|m| m.get_mut(&arn)) {
                lb.tags = t;
            } else if let Some(tg) = side.target_groups.as_mut().and_then(|m| m.get_mut(&arn)) {
                tg.tags = t;
            }
        }
    }
    if let Some(call) = elb.get("DescribeLoadBalancerAttributes")? {
        for (arn, attributes) in keyed(&call, "Attributes")? {
            let mut map = BTreeMap::new();
            for a in attributes {
                map.insert(a.req_str("Key")?, a.str_or_empty("Value")?);
            }
            if let Some(lb) = side.load_balancers.as_mut().and_then(|m| m.get_mut(&arn)) {
                lb.attributes = Some(map);
            }
        }
    }
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
