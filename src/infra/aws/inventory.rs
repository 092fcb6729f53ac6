//! The AWS inventory: every describe lbsg makes, paginated at the maximum page size and filtered
//! server-side by VPC where the API allows it, converted into World types.
//!
//! The first picture ([`load_base`]) needs one paginated call per resource kind. The per-LB
//! and per-TG calls live in [`super::details`].

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::Filter;

use super::client::Aws;
use super::errors::AwsError;
use super::paging::{Page, batches, paginate};
use super::{ec2, elbv2, ops::Op};
use crate::world::{
    ClusterInfo, Instance, LoadBalancer, NetworkInterface, PrefixList, SecurityGroup, Subnet, Tags,
    TargetGroup, Vpc, World,
};

/// Page sizes. The defaults are each API's maximum; tests lower the ELB ones to see paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    /// EC2 `MaxResults` (5–1,000).
    pub ec2: i32,
    /// `MaxResults` of the prefix-list calls (1–100).
    pub prefix_lists: i32,
    /// ELBv2 `PageSize` (1–400).
    pub elb: i32,
}

impl Default for PageSizes {
    fn default() -> Self {
        Self {
            ec2: 1000,
            prefix_lists: 100,
            elb: 400,
        }
    }
}

/// ARNs per DescribeTags call (the API's maximum).
pub const TAG_BATCH: usize = 20;
/// Values per EC2 filter; larger id lists are split into several calls.
pub const FILTER_VALUES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// The cluster's VPC (from `--vpc-id`, the controller args or the world); `None` loads
    /// every VPC of the Region.
    pub vpc_id: Option<String>,
    pub page_sizes: PageSizes,
    /// Per-LB / per-TG calls in flight at once (the budget still paces them).
    pub concurrency: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            vpc_id: None,
            page_sizes: PageSizes::default(),
            concurrency: 4,
        }
    }
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

fn vpc_filters(vpc: Option<&str>) -> Option<Vec<Filter>> {
    vpc.map(|v| vec![filter("vpc-id", &[v.to_string()])])
}

fn next(token: Option<&str>) -> Option<String> {
    token.map(str::to_string)
}

pub async fn load_vpcs(aws: &Aws, vpc: Option<&str>, ps: PageSizes) -> Result<Vec<Vpc>, AwsError> {
    aws.call(Op::DescribeVpcs);
    let mut vpcs = paginate(|token| async move {
        let req = aws
            .ec2
            .describe_vpcs()
            .set_filters(vpc_filters(vpc))
            .max_results(ps.ec2)
            .set_next_token(token);
        let out = aws.send(Op::DescribeVpcs, req.send()).await?;
        Ok(Page {
            items: out.vpcs().iter().map(ec2::vpc).collect(),
            next: next(out.next_token()),
        })
    })
    .await?;
    vpcs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(vpcs)
}

pub async fn load_subnets(
    aws: &Aws,
    vpc: Option<&str>,
    ps: PageSizes,
) -> Result<BTreeMap<String, Subnet>, AwsError> {
    aws.call(Op::DescribeSubnets);
    let items = paginate(|token| async move {
        let req = aws
            .ec2
            .describe_subnets()
            .set_filters(vpc_filters(vpc))
            .max_results(ps.ec2)
            .set_next_token(token);
        let out = aws.send(Op::DescribeSubnets, req.send()).await?;
        Ok(Page {
            items: out.subnets().iter().map(ec2::subnet).collect::<Vec<_>>(),
            next: next(out.next_token()),
        })
    })
    .await?;
    Ok(items.into_iter().map(|s| (s.id.clone(), s)).collect())
}

/// Security groups by a server-side filter (`vpc-id` or `group-id`), rules from IpPermissions.
async fn describe_groups(
    aws: &Aws,
    filters: Option<Vec<Filter>>,
    ps: PageSizes,
) -> Result<Vec<SecurityGroup>, AwsError> {
    aws.call(Op::DescribeSecurityGroups);
    paginate(|token| {
        let filters = filters.clone();
        async move {
            let req = aws
                .ec2
                .describe_security_groups()
                .set_filters(filters)
                .max_results(ps.ec2)
                .set_next_token(token);
            let out = aws.send(Op::DescribeSecurityGroups, req.send()).await?;
            Ok(Page {
                items: out
                    .security_groups()
                    .iter()
                    .map(ec2::security_group)
                    .collect(),
                next: next(out.next_token()),
            })
        }
    })
    .await
}

/// Rule ids and rule tags (DescribeSecurityGroupRules has no `vpc-id` filter: by group id).
async fn describe_rules(
    aws: &Aws,
    group_ids: &[String],
    ps: PageSizes,
) -> Result<Vec<ec2::DescribedRule>, AwsError> {
    let mut all = Vec::new();
    for batch in batches(group_ids, FILTER_VALUES) {
        aws.call(Op::DescribeSecurityGroupRules);
        let f = vec![filter("group-id", &batch)];
        let rules = paginate(|token| {
            let f = f.clone();
            async move {
                let req = aws
                    .ec2
                    .describe_security_group_rules()
                    .set_filters(Some(f))
                    .max_results(ps.ec2)
                    .set_next_token(token);
                let out = aws.send(Op::DescribeSecurityGroupRules, req.send()).await?;
                Ok(Page {
                    items: out
                        .security_group_rules()
                        .iter()
                        .map(ec2::described_rule)
                        .collect(),
                    next: next(out.next_token()),
                })
            }
        })
        .await?;
        all.extend(rules);
    }
    Ok(all)
}

/// Every security group of the VPC with its rules, rule ids and rule tags.
pub async fn load_security_groups(
    aws: &Aws,
    vpc: Option<&str>,
    ps: PageSizes,
) -> Result<BTreeMap<String, SecurityGroup>, AwsError> {
    let groups = describe_groups(aws, vpc_filters(vpc), ps).await?;
    let mut map: BTreeMap<String, SecurityGroup> =
        groups.into_iter().map(|g| (g.id.clone(), g)).collect();
    let ids: Vec<String> = map.keys().cloned().collect();
    let described = describe_rules(aws, &ids, ps).await?;
    ec2::attach_rule_ids(&mut map, &described);
    Ok(map)
}

/// The named security groups as they are now (missing ones are absent, not an error). Used by
/// the sink to re-check a plan's groups; rule ids are not needed there.
pub async fn load_security_groups_by_id(
    aws: &Aws,
    ids: &[String],
) -> Result<BTreeMap<String, SecurityGroup>, AwsError> {
    let mut map = BTreeMap::new();
    for batch in batches(ids, FILTER_VALUES) {
        let f = Some(vec![filter("group-id", &batch)]);
        for g in describe_groups(aws, f, PageSizes::default()).await? {
            map.insert(g.id.clone(), g);
        }
    }
    Ok(map)
}

/// Prefix lists (with their entries) by id: the ones the loaded rules reference.
pub async fn load_prefix_lists(
    aws: &Aws,
    ids: &[String],
    ps: PageSizes,
) -> Result<BTreeMap<String, PrefixList>, AwsError> {
    let mut lists = Vec::new();
    for batch in batches(ids, FILTER_VALUES) {
        aws.call(Op::DescribeManagedPrefixLists);
        let f = vec![filter("prefix-list-id", &batch)];
        let page = paginate(|token| {
            let f = f.clone();
            async move {
                let req = aws
                    .ec2
                    .describe_managed_prefix_lists()
                    .set_filters(Some(f))
                    .max_results(ps.prefix_lists)
                    .set_next_token(token);
                let out = aws.send(Op::DescribeManagedPrefixLists, req.send()).await?;
                Ok(Page {
                    items: out.prefix_lists().to_vec(),
                    next: next(out.next_token()),
                })
            }
        })
        .await?;
        lists.extend(page);
    }
    let mut out = BTreeMap::new();
    for l in &lists {
        let Some(id) = l.prefix_list_id() else {
            continue;
        };
        let entries = load_prefix_list_entries(aws, id, ps).await?;
        let pl = ec2::prefix_list(l, Some(entries));
        out.insert(pl.id.clone(), pl);
    }
    Ok(out)
}

async fn load_prefix_list_entries(
    aws: &Aws,
    id: &str,
    ps: PageSizes,
) -> Result<Vec<String>, AwsError> {
    aws.call(Op::GetManagedPrefixListEntries);
    let mut entries = paginate(|token| async move {
        let req = aws
            .ec2
            .get_managed_prefix_list_entries()
            .prefix_list_id(id)
            .max_results(ps.prefix_lists)
            .set_next_token(token);
        let out = aws
            .send(Op::GetManagedPrefixListEntries, req.send())
            .await?;
        Ok(Page {
            items: out
                .entries()
                .iter()
                .filter_map(ec2::prefix_list_entry)
                .collect(),
            next: next(out.next_token()),
        })
    })
    .await?;
    entries.sort();
    Ok(entries)
}

pub async fn load_network_interfaces(
    aws: &Aws,
    vpc: Option<&str>,
    ps: PageSizes,
) -> Result<BTreeMap<String, NetworkInterface>, AwsError> {
    aws.call(Op::DescribeNetworkInterfaces);
    let items = paginate(|token| async move {
        let req = aws
            .ec2
            .describe_network_interfaces()
            .set_filters(vpc_filters(vpc))
            .max_results(ps.ec2)
            .set_next_token(token);
        let out = aws.send(Op::DescribeNetworkInterfaces, req.send()).await?;
        Ok(Page {
            items: out
                .network_interfaces()
                .iter()
                .map(ec2::network_interface)
                .collect::<Vec<_>>(),
            next: next(out.next_token()),
        })
    })
    .await?;
    Ok(items.into_iter().map(|n| (n.id.clone(), n)).collect())
}

pub async fn load_instances(
    aws: &Aws,
    vpc: Option<&str>,
    ps: PageSizes,
) -> Result<BTreeMap<String, Instance>, AwsError> {
    aws.call(Op::DescribeInstances);
    let items = paginate(|token| async move {
        let req = aws
            .ec2
            .describe_instances()
            .set_filters(vpc_filters(vpc))
            .max_results(ps.ec2)
            .set_next_token(token);
        let out = aws.send(Op::DescribeInstances, req.send()).await?;
        Ok(Page {
            items: out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .map(ec2::instance)
                .collect::<Vec<_>>(),
            next: next(out.next_token()),
        })
    })
    .await?;
    Ok(items.into_iter().map(|i| (i.id.clone(), i)).collect())
}

/// Load balancers of the VPC (ELBv2 has no VPC filter: the VPC is checked here), without tags.
pub async fn load_load_balancers(
    aws: &Aws,
    vpc: Option<&str>,
    ps: PageSizes,
) -> Result<BTreeMap<String, LoadBalancer>, AwsError> {
    aws.call(Op::DescribeLoadBalancers);
    let items = paginate(|marker| async move {
        let req = aws
            .elb
            .describe_load_balancers()
            .page_size(ps.elb)
            .set_marker(marker);
        let out = aws.send(Op::DescribeLoadBalancers, req.send()).await?;
        Ok(Page {
            items: out
                .load_balancers()
                .iter()
                .map(elbv2::load_balancer)
                .collect::<Vec<_>>(),
            next: next(out.next_marker()),
        })
    })
    .await?;
    Ok(items
        .into_iter()
        .filter(|lb| vpc.is_none() || lb.vpc_id.as_deref() == vpc)
        .map(|lb| (lb.arn.clone(), lb))
        .collect())
}

/// Load balancers by ARN as they are now; a missing one is absent. Used by the sink.
pub async fn load_load_balancers_by_arn(
    aws: &Aws,
    arns: &[String],
) -> Result<BTreeMap<String, LoadBalancer>, AwsError> {
    let mut out = BTreeMap::new();
    for batch in batches(arns, TAG_BATCH) {
        aws.call(Op::DescribeLoadBalancers);
        let req = aws
            .elb
            .describe_load_balancers()
            .set_load_balancer_arns(Some(batch.clone()));
        match aws.send(Op::DescribeLoadBalancers, req.send()).await {
            Ok(o) => {
                for lb in o.load_balancers() {
                    let lb = elbv2::load_balancer(lb);
                    out.insert(lb.arn.clone(), lb);
                }
            }
            // One unknown ARN fails the whole call: ask for each alone to find which.
            Err(e) if e.has_code(&["LoadBalancerNotFound"]) && batch.len() > 1 => {
                for arn in batch {
                    out.extend(Box::pin(load_load_balancers_by_arn(aws, &[arn])).await?);
                }
            }
            Err(e) if e.has_code(&["LoadBalancerNotFound"]) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Target groups of the VPC (checked here; ELBv2 has no VPC filter), without tags.
pub async fn load_target_groups(
    aws: &Aws,
    vpc: Option<&str>,
    ps: PageSizes,
) -> Result<BTreeMap<String, TargetGroup>, AwsError> {
    aws.call(Op::DescribeTargetGroups);
    let items = paginate(|marker| async move {
        let req = aws
            .elb
            .describe_target_groups()
            .page_size(ps.elb)
            .set_marker(marker);
        let out = aws.send(Op::DescribeTargetGroups, req.send()).await?;
        Ok(Page {
            items: out
                .target_groups()
                .iter()
                .map(elbv2::target_group)
                .collect::<Vec<_>>(),
            next: next(out.next_marker()),
        })
    })
    .await?;
    Ok(items
        .into_iter()
        .filter(|tg| vpc.is_none() || tg.vpc_id.as_deref() == vpc)
        .map(|tg| (tg.arn.clone(), tg))
        .collect())
}

/// Tags of LBs and TGs, 20 ARNs per call.
pub async fn load_tags(aws: &Aws, arns: &[String]) -> Result<BTreeMap<String, Tags>, AwsError> {
    let mut out = BTreeMap::new();
    for batch in batches(arns, TAG_BATCH) {
        aws.call(Op::DescribeTags);
        let req = aws.elb.describe_tags().set_resource_arns(Some(batch));
        let o = aws.send(Op::DescribeTags, req.send()).await?;
        for d in o.tag_descriptions() {
            if let Some(arn) = d.resource_arn() {
                out.insert(arn.to_string(), elbv2::tags(d.tags()));
            }
        }
    }
    Ok(out)
}

/// Prefix lists referenced by any rule of `groups`.
fn referenced_prefix_lists(groups: &BTreeMap<String, SecurityGroup>) -> Vec<String> {
    let ids: BTreeSet<String> = groups
        .values()
        .flat_map(|g| g.ingress.iter().chain(&g.egress))
        .filter_map(|r| match &r.rule.source {
            crate::world::Source::PrefixList(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    ids.into_iter().collect()
}

/// The first picture: every resource kind except the per-LB / per-TG details, which stay
/// unknown (`None`) until [`super::details`] fills them.
pub async fn load_base(aws: &Aws, opts: &LoadOptions) -> Result<World, AwsError> {
    let vpc = opts.vpc_id.as_deref();
    let ps = opts.page_sizes;
    let ec2_side = async {
        let (vpcs, subnets, groups, enis, instances) = futures::try_join!(
            load_vpcs(aws, vpc, ps),
            load_subnets(aws, vpc, ps),
            load_security_groups(aws, vpc, ps),
            load_network_interfaces(aws, vpc, ps),
            load_instances(aws, vpc, ps),
        )?;
        let prefix_lists = load_prefix_lists(aws, &referenced_prefix_lists(&groups), ps).await?;
        Ok::<_, AwsError>((vpcs, subnets, groups, prefix_lists, enis, instances))
    };
    let elb_side = async {
        let (mut lbs, mut tgs) = futures::try_join!(
            load_load_balancers(aws, vpc, ps),
            load_target_groups(aws, vpc, ps),
        )?;
        let arns: Vec<String> = lbs.keys().chain(tgs.keys()).cloned().collect();
        let mut tags = load_tags(aws, &arns).await?;
        for (arn, lb) in &mut lbs {
            lb.tags = tags.remove(arn).unwrap_or_default();
        }
        for (arn, tg) in &mut tgs {
            tg.tags = tags.remove(arn).unwrap_or_default();
        }
        Ok::<_, AwsError>((lbs, tgs))
    };
    let ((vpcs, subnets, groups, prefix_lists, enis, instances), (lbs, tgs)) =
        futures::try_join!(ec2_side, elb_side)?;

    let account = lbs
        .keys()
        .find_map(|arn| elbv2::account_of_arn(arn))
        .or_else(|| groups.values().find_map(|g| g.owner_id.clone()));
    let mut world = World {
        cluster: ClusterInfo {
            region: aws.error_context().region.clone(),
            vpc_id: opts.vpc_id.clone(),
            account,
            ..Default::default()
        },
        ..Default::default()
    };
    let a = &mut world.aws;
    a.vpcs = Some(vpcs);
    a.subnets = Some(subnets);
    a.security_groups = Some(groups);
    a.prefix_lists = Some(prefix_lists);
    a.enis = Some(enis);
    a.instances = Some(instances);
    a.load_balancers = Some(lbs);
    a.target_groups = Some(tgs);
    Ok(world)
}
