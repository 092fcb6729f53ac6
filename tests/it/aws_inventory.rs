//! Inventory against moto: the seeded account comes back as the expected World, and a load
//! costs exactly the calls the page arithmetic says.

use std::collections::{BTreeMap, BTreeSet};

use lbsg::infra::aws::{LoadOptions, Op, PageSizes, snapshot_aws};
use lbsg::world::{Rule, Source};

use crate::aws_common::env;
use crate::aws_seed::{EXTRA_TGS, seed};

fn rule(
    proto: &str,
    from: Option<i32>,
    to: Option<i32>,
    source: Source,
    description: &str,
) -> Rule {
    Rule {
        protocol: proto.into(),
        from_port: from,
        to_port: to,
        source,
        description: description.into(),
    }
}

#[tokio::test]
async fn aws_load_sees_the_seeded_account_as_a_world() {
    let Some(env) = env("aws_load_sees_the_seeded_account_as_a_world").await else {
        return;
    };
    let s = seed(&env).await;
    let opts = LoadOptions {
        vpc_id: Some(s.vpc.clone()),
        ..Default::default()
    };
    let snap = snapshot_aws(&env.aws, &opts).await.unwrap();
    assert!(snap.problems.is_empty(), "{:?}", snap.problems);
    let w = snap.world;
    let a = &w.aws;

    assert_eq!(w.cluster.vpc_id.as_deref(), Some(s.vpc.as_str()));
    assert_eq!(w.cluster.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        w.cluster.account.as_deref(),
        Some(env.account.as_str()),
        "per-test moto account"
    );

    let vpcs = a.vpcs.as_ref().unwrap();
    assert_eq!(vpcs.len(), 1, "only the cluster VPC");
    assert_eq!(vpcs[0].id, s.vpc);
    assert_eq!(vpcs[0].cidr_blocks[0].cidr, "10.0.0.0/16");
    assert_eq!(vpcs[0].ipv6_cidr_blocks.len(), 1);
    assert_eq!(vpcs[0].tags["Name"], "cluster");

    let subnets = a.subnets.as_ref().unwrap();
    assert_eq!(
        subnets.keys().cloned().collect::<BTreeSet<_>>(),
        s.subnets.iter().cloned().collect()
    );
    assert_eq!(
        subnets[&s.subnets[1]].availability_zone.as_deref(),
        Some("us-east-1b")
    );
    assert_eq!(subnets[&s.subnets[0]].cidr, "10.0.1.0/24");

    // Security groups: the VPC's own (ours + the default), never the other VPC's.
    let sgs = a.security_groups.as_ref().unwrap();
    for id in [&s.sg_front, &s.sg_back, &s.sg_node, &s.sg_spare] {
        assert!(sgs.contains_key(id), "{id} missing");
    }
    assert!(!sgs.contains_key(&s.sg_other_vpc));
    assert!(
        sgs.values()
            .all(|g| g.vpc_id.as_deref() == Some(s.vpc.as_str()))
    );
    let front = &sgs[&s.sg_front];
    assert_eq!(front.name, "k8s-default-web");
    assert_eq!(front.name_tag(), Some("web-frontend"));
    assert_eq!(front.tags["service.k8s.aws/stack"], "default/web");
    let got: BTreeSet<Rule> = front.ingress.iter().map(|r| r.rule.clone()).collect();
    let want: BTreeSet<Rule> = [
        rule(
            "tcp",
            Some(80),
            Some(80),
            Source::Cidr("0.0.0.0/0".into()),
            "web",
        ),
        rule(
            "tcp",
            Some(443),
            Some(443),
            Source::CidrV6("::/0".into()),
            "",
        ),
        rule(
            "tcp",
            Some(5432),
            Some(5432),
            Source::PrefixList(s.prefix_list.clone()),
            "",
        ),
        rule(
            "icmp",
            Some(8),
            Some(-1),
            Source::Cidr("10.0.0.0/8".into()),
            "",
        ),
        rule("-1", None, None, Source::Cidr("10.1.0.0/16".into()), ""),
        rule(
            "udp",
            Some(53),
            Some(53),
            Source::Cidr("10.0.0.0/16".into()),
            "",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    // Rule ids and tags from DescribeSecurityGroupRules, on every rule.
    assert!(
        front
            .ingress
            .iter()
            .all(|r| r.id.as_deref().is_some_and(|i| i.starts_with("sgr-"))),
        "{:?}",
        front.ingress
    );
    assert!(
        front
            .ingress
            .iter()
            .all(|r| r.tags.get("owner").map(String::as_str) == Some("team-a"))
    );
    let ids: BTreeSet<_> = front.ingress.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), front.ingress.len(), "distinct ids");
    let node = &sgs[&s.sg_node];
    assert_eq!(node.ingress.len(), 1);
    assert_eq!(
        node.ingress[0].rule.source,
        Source::Group(s.sg_back.clone())
    );
    assert_eq!(
        (node.ingress[0].rule.from_port, node.ingress[0].rule.to_port),
        (Some(30000), Some(32767))
    );
    assert_eq!(
        node.ingress[0].rule.description,
        "elbv2.k8s.aws/targetGroupBinding=shared"
    );

    // Only the referenced prefix list, with its entries.
    let pls = a.prefix_lists.as_ref().unwrap();
    assert_eq!(pls.keys().collect::<Vec<_>>(), vec![&s.prefix_list]);
    let pl = &pls[&s.prefix_list];
    assert_eq!(pl.name, "corp");
    assert_eq!(pl.max_entries, Some(5));
    assert_eq!(
        pl.entries.as_deref(),
        Some(&["192.168.0.0/24".to_string(), "192.168.1.0/24".to_string()][..])
    );

    let enis = a.enis.as_ref().unwrap();
    assert_eq!(
        enis.keys().cloned().collect::<BTreeSet<_>>(),
        [&s.eni_node, &s.eni_lb, &s.instance_eni]
            .into_iter()
            .cloned()
            .collect()
    );
    assert_eq!(
        enis[&s.eni_lb].description,
        "ELB net/web-nlb/0123456789abcdef"
    );
    assert_eq!(
        enis[&s.eni_lb].groups,
        vec![s.sg_front.clone(), s.sg_back.clone()]
    );
    assert_eq!(
        enis[&s.eni_node].tags["node.k8s.amazonaws.com/instance_id"],
        "i-x"
    );
    assert!(!enis[&s.eni_node].private_ips.is_empty());
    let att = enis[&s.instance_eni].attachment.as_ref().unwrap();
    assert_eq!(att.instance_id.as_deref(), Some(s.instance.as_str()));

    let instances = a.instances.as_ref().unwrap();
    assert_eq!(instances.keys().collect::<Vec<_>>(), vec![&s.instance]);
    let i = &instances[&s.instance];
    assert_eq!(i.primary_eni(), Some(s.instance_eni.as_str()));
    assert_eq!(i.security_groups, vec![s.sg_node.clone()]);
    assert_eq!(i.state.as_deref(), Some("running"));
    assert_eq!(i.tags["Name"], "node-1");

    // Load balancers of the VPC only; type from the Type field (moto's NLB ARNs say app/).
    let lbs = a.load_balancers.as_ref().unwrap();
    assert_eq!(
        lbs.keys().cloned().collect::<BTreeSet<_>>(),
        [&s.nlb, &s.nlb_legacy, &s.alb]
            .into_iter()
            .cloned()
            .collect()
    );
    let nlb = &lbs[&s.nlb];
    assert!(nlb.is_nlb());
    assert_eq!(nlb.scheme, "internet-facing");
    assert_eq!(nlb.ip_address_type, "ipv4");
    assert_eq!(
        nlb.security_groups,
        vec![s.sg_front.clone(), s.sg_back.clone()]
    );
    assert_eq!(nlb.subnets.len(), 2);
    assert_eq!(nlb.tags["service.k8s.aws/stack"], "default/web-nlb");
    assert!(
        nlb.attributes
            .as_ref()
            .is_some_and(|m| m.contains_key("deletion_protection.enabled"))
    );
    assert!(lbs[&s.nlb_legacy].security_groups.is_empty());
    assert_eq!(lbs[&s.nlb_legacy].scheme, "internal");
    assert!(lbs[&s.alb].is_alb());

    let listeners = a.listeners.as_ref().unwrap();
    let by_lb: BTreeMap<&str, Vec<i32>> = listeners.values().fold(BTreeMap::new(), |mut m, l| {
        m.entry(l.load_balancer_arn.as_str())
            .or_default()
            .push(l.port);
        m
    });
    assert_eq!(by_lb[s.nlb.as_str()], vec![80]);
    assert_eq!(by_lb[s.nlb_legacy.as_str()], vec![443]);
    let mut alb_ports = by_lb[s.alb.as_str()].clone();
    alb_ports.sort();
    assert_eq!(alb_ports, vec![80, 8080, 8081]);
    let nlb_listener = listeners
        .values()
        .find(|l| l.load_balancer_arn == s.nlb)
        .unwrap();
    assert_eq!(nlb_listener.protocol, "TCP");
    assert_eq!(nlb_listener.target_group_arns, vec![s.tg_instance.clone()]);

    let tgs = a.target_groups.as_ref().unwrap();
    assert_eq!(tgs.len(), 3 + EXTRA_TGS);
    assert!(!tgs.contains_key(&s.other_vpc_tg));
    let tg = &tgs[&s.tg_instance];
    assert_eq!(
        (tg.target_type.as_str(), tg.port, tg.protocol.as_deref()),
        ("instance", Some(30080), Some("TCP"))
    );
    assert_eq!(tg.tags["purpose"], "tg-instance");
    assert_eq!(tg.load_balancer_arns, vec![s.nlb.clone()]);
    assert!(
        tgs.values()
            .all(|t| t.tags.get("elbv2.k8s.aws/cluster").map(String::as_str) == Some("demo")),
        "tags past the first 20 ARNs too"
    );

    let health = a.target_health.as_ref().unwrap();
    assert_eq!(health.len(), 3 + EXTRA_TGS, "every TG's health is known");
    assert_eq!(health[&s.tg_instance][0].id, s.instance);
    assert_eq!(health[&s.tg_ip][0].id, "10.0.1.50");
    assert_eq!(health[&s.tg_ip][0].port, Some(8080));
    assert!(health[&s.tgs[5]].is_empty());
}

fn pages(n: usize, size: usize) -> u64 {
    n.div_ceil(size).max(1) as u64
}

#[tokio::test]
async fn aws_load_call_counts_follow_the_page_arithmetic() {
    let Some(env) = env("aws_load_call_counts_follow_the_page_arithmetic").await else {
        return;
    };
    let s = seed(&env).await;
    env.recorder.take();
    env.aws.stats().reset();
    let elb_page = 2;
    let opts = LoadOptions {
        vpc_id: Some(s.vpc.clone()),
        page_sizes: PageSizes {
            elb: elb_page,
            ..Default::default()
        },
        concurrency: 3,
    };
    let snap = snapshot_aws(&env.aws, &opts).await.unwrap();
    assert!(snap.problems.is_empty());
    let stats = env.aws.stats().snapshot();
    let count = |op: Op| {
        let st = stats.get(op.action()).copied().unwrap_or_default();
        // No retries against the emulator: every page went out exactly once.
        assert_eq!(st.attempts, st.pages, "{op}");
        assert_eq!(st.throttled, 0, "{op}");
        (st.calls, st.pages)
    };

    // DescribeLoadBalancers pages as asked (moto honours its PageSize). It lists the whole
    // account (ELBv2 has no VPC filter), so the other VPC's LB counts for the pages.
    let (lbs_in_vpc, lbs_total) = (3, 4);
    let tgs_in_vpc = 3 + EXTRA_TGS;
    assert_eq!(
        count(Op::DescribeLoadBalancers),
        (1, pages(lbs_total, elb_page as usize))
    );
    // moto 5.2.5 ignores PageSize for DescribeTargetGroups and DescribeListeners (one page
    // whatever the size); the paging loop these share is unit-tested with a fake.
    assert_eq!(count(Op::DescribeTargetGroups), (1, 1));
    assert_eq!(
        count(Op::DescribeListeners),
        (lbs_in_vpc as u64, lbs_in_vpc as u64)
    );
    assert_eq!(
        count(Op::DescribeLoadBalancerAttributes),
        (lbs_in_vpc as u64, lbs_in_vpc as u64)
    );
    assert_eq!(
        count(Op::DescribeTargetHealth),
        (tgs_in_vpc as u64, tgs_in_vpc as u64)
    );
    // 20 ARNs per DescribeTags: 3 LBs + 23 TGs = 26 ARNs → 2 calls.
    let tag_calls = pages(lbs_in_vpc + tgs_in_vpc, 20);
    assert_eq!(count(Op::DescribeTags), (tag_calls, tag_calls));

    // EC2: one call of one page each at MaxResults 1000 (moto ignores MaxResults; the paging
    // loop itself is unit-tested with a fake).
    for op in [
        Op::DescribeVpcs,
        Op::DescribeSubnets,
        Op::DescribeSecurityGroups,
        Op::DescribeSecurityGroupRules,
        Op::DescribeNetworkInterfaces,
        Op::DescribeInstances,
        Op::DescribeManagedPrefixLists,
        Op::GetManagedPrefixListEntries,
    ] {
        assert_eq!(count(op), (1, 1), "{op}");
    }

    // What went on the wire is exactly what the stats counted, and only read-only actions.
    let wire = env.recorder.take();
    let mut wire_counts: BTreeMap<String, u64> = BTreeMap::new();
    for a in &wire {
        *wire_counts.entry(a.clone()).or_default() += 1;
    }
    let stat_counts: BTreeMap<String, u64> =
        stats.iter().map(|(k, v)| (k.clone(), v.pages)).collect();
    assert_eq!(wire_counts, stat_counts);
    let read_only: BTreeSet<&str> = Op::read_only().map(Op::action).collect();
    let called: BTreeSet<&str> = wire_counts.keys().map(String::as_str).collect();
    assert_eq!(
        called, read_only,
        "a full load calls every read-only action and nothing else"
    );

    // The rendered table carries the same numbers.
    let table = env.aws.stats().render();
    assert!(
        table.contains("elasticloadbalancing:DescribeTags"),
        "{table}"
    );
}

#[tokio::test]
async fn aws_lazy_loaders_fetch_one_lb_or_tg() {
    let Some(env) = env("aws_lazy_loaders_fetch_one_lb_or_tg").await else {
        return;
    };
    let s = seed(&env).await;
    let opts = LoadOptions {
        vpc_id: Some(s.vpc.clone()),
        ..Default::default()
    };
    let base = lbsg::infra::aws::load_base(&env.aws, &opts).await.unwrap();
    // The first picture leaves the per-LB/TG details unknown, not empty.
    assert!(base.aws.listeners.is_none());
    assert!(base.aws.target_health.is_none());
    assert!(
        base.aws
            .load_balancers
            .as_ref()
            .unwrap()
            .values()
            .all(|lb| lb.attributes.is_none())
    );
    env.aws.stats().reset();
    let ls = lbsg::infra::aws::load_listeners(&env.aws, &s.alb, PageSizes::default())
        .await
        .unwrap();
    assert_eq!(
        ls.iter().map(|l| l.port).collect::<Vec<_>>(),
        vec![80, 8080, 8081]
    );
    let th = lbsg::infra::aws::load_target_health(&env.aws, &s.tg_instance)
        .await
        .unwrap();
    assert_eq!(th.len(), 1);
    let attrs = lbsg::infra::aws::load_lb_attributes(&env.aws, &s.nlb)
        .await
        .unwrap();
    assert!(!attrs.is_empty());
    let stats = env.aws.stats().snapshot();
    assert_eq!(stats.values().map(|s| s.pages).sum::<u64>(), 3, "{stats:?}");
}
