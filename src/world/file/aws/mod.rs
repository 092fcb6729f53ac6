//! AWS API responses as the AWS CLI prints them (`--output json`, PascalCase) → the world's
//! AWS types. Each call may be one response or a list of responses (pages). EC2's calls are
//! read here, Elastic Load Balancing's in [`elbv2`].

mod elbv2;
pub(super) use elbv2::ELBV2_CALLS;

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::located::{At, Node, Res, Unique, push_key};
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

pub(super) fn read(mut tree: Node<'_>) -> Res<AwsSide> {
    At::section(&tree, "aws").only_keys(&["ec2", "elbv2"])?;
    let mut side = AwsSide::default();
    if let Some(ec2) = tree.take("ec2") {
        read_ec2(&mut Calls::new(ec2, "aws.ec2", EC2_CALLS)?, &mut side)?;
    }
    if let Some(elb) = tree.take("elbv2") {
        elbv2::read(&mut Calls::new(elb, "aws.elbv2", ELBV2_CALLS)?, &mut side)?;
    }
    Ok(side)
}

/// One service's calls, each taken out and read on its own, then dropped: only one call's
/// tree is in memory next to what has been read.
struct Calls<'t> {
    tree: Node<'t>,
    path: &'static str,
}

impl<'t> Calls<'t> {
    /// The calls of a service's mapping, which may only hold `known` calls.
    fn new(tree: Node<'t>, path: &'static str, known: &[&str]) -> Res<Self> {
        At::section(&tree, path).only_keys(known)?;
        Ok(Calls { tree, path })
    }

    /// Reads call `name` with `read`, if it was given.
    fn read<T>(&mut self, name: &str, read: impl FnOnce(&At<'_>) -> Res<T>) -> Res<Option<T>> {
        let Some(call) = self.tree.take(name) else {
            return Ok(None);
        };
        let path = push_key(self.path, name);
        read(&At::section(&call, &path)).map(Some)
    }
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
    what: &str,
    id_field: &str,
    list: Vec<At<'a>>,
    read: impl Fn(&At<'a>, String) -> Res<T>,
) -> Res<BTreeMap<String, T>> {
    let mut seen = Unique::default();
    let mut out = BTreeMap::new();
    for item in list {
        let id_at = item.req(id_field)?;
        let id = id_at.str()?;
        seen.check(what, &id, &id_at)?;
        out.insert(id.clone(), read(&item, id)?);
    }
    Ok(out)
}

fn read_ec2(calls: &mut Calls<'_>, side: &mut AwsSide) -> Res<()> {
    side.vpcs = calls.read("DescribeVpcs", |call| {
        // A list in the world: document order is kept.
        let mut seen = Unique::default();
        let mut vpcs = Vec::new();
        for item in items(call, "Vpcs")? {
            let id_at = item.req("VpcId")?;
            let id = id_at.str()?;
            seen.check("VPC", &id, &id_at)?;
            vpcs.push(read_vpc(&item, id)?);
        }
        Ok(vpcs)
    })?;
    side.subnets = calls.read("DescribeSubnets", |call| {
        keyed_section("subnet", "SubnetId", items(call, "Subnets")?, read_subnet)
    })?;
    side.security_groups = calls.read("DescribeSecurityGroups", |call| {
        keyed_section(
            "security group",
            "GroupId",
            items(call, "SecurityGroups")?,
            read_sg,
        )
    })?;
    // Rule ids and tags go onto the groups; with no groups the rules must still be well-formed.
    let mut no_groups = BTreeMap::new();
    let groups = side.security_groups.as_mut().unwrap_or(&mut no_groups);
    calls.read("DescribeSecurityGroupRules", |call| {
        attach_rule_details(call, groups)
    })?;
    side.enis = calls.read("DescribeNetworkInterfaces", |call| {
        keyed_section(
            "network interface",
            "NetworkInterfaceId",
            items(call, "NetworkInterfaces")?,
            read_eni,
        )
    })?;
    side.instances = calls.read("DescribeInstances", |call| {
        let mut instances = Vec::new();
        for reservation in items(call, "Reservations")? {
            instances.extend(reservation.list("Instances")?);
        }
        keyed_section("instance", "InstanceId", instances, read_instance)
    })?;
    side.prefix_lists = calls.read("DescribeManagedPrefixLists", |call| {
        keyed_section(
            "prefix list",
            "PrefixListId",
            items(call, "PrefixLists")?,
            read_prefix_list,
        )
    })?;
    let lists = &mut side.prefix_lists;
    calls.read("GetManagedPrefixListEntries", |call| {
        for (id, entries) in keyed(call, "Entries")? {
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
            if let Some(pl) = lists.as_mut().and_then(|m| m.get_mut(&id)) {
                pl.entries = Some(cidrs);
            }
        }
        Ok(())
    })?;
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
fn attach_rule_details(call: &At<'_>, groups: &mut BTreeMap<String, SecurityGroup>) -> Res<()> {
    let mut seen = Unique::default();
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
