//! The seeded scenario of the moto-backed tests, created through the SDK.

// A failed seed call should panic the test that called it.
#![allow(clippy::unwrap_used)]
// The seed fills its result as the ids come back.
#![allow(clippy::field_reassign_with_default)]

use aws_sdk_ec2::types as e;
use aws_sdk_elasticloadbalancingv2::types as l;

use crate::aws_common::Env;

/// Ids of what [`seed`] created.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub vpc: String,
    pub other_vpc: String,
    pub subnets: Vec<String>,
    pub prefix_list: String,
    pub sg_front: String,
    pub sg_back: String,
    pub sg_node: String,
    pub sg_spare: String,
    pub sg_other_vpc: String,
    pub eni_node: String,
    pub eni_lb: String,
    pub instance: String,
    pub instance_eni: String,
    pub nlb: String,
    pub nlb_legacy: String,
    pub alb: String,
    pub other_vpc_lb: String,
    pub tg_instance: String,
    pub tg_ip: String,
    pub tg_http: String,
    /// Every TG of the VPC (the three above plus fillers that push DescribeTags past 20 ARNs).
    pub tgs: Vec<String>,
    pub other_vpc_tg: String,
}

pub const EXTRA_TGS: usize = 20;

pub fn etag(k: &str, v: &str) -> e::Tag {
    e::Tag::builder().key(k).value(v).build()
}

fn ltag(k: &str, v: &str) -> l::Tag {
    l::Tag::builder().key(k).value(v).build()
}

fn tag_spec(kind: e::ResourceType, tags: &[(&str, &str)]) -> e::TagSpecification {
    e::TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags.iter().map(|(k, v)| etag(k, v)).collect()))
        .build()
}

pub fn perm(
    proto: &str,
    from: Option<i32>,
    to: Option<i32>,
) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    e::IpPermission::builder()
        .ip_protocol(proto)
        .set_from_port(from)
        .set_to_port(to)
}

pub fn cidr(c: &str, d: Option<&str>) -> e::IpRange {
    e::IpRange::builder()
        .cidr_ip(c)
        .set_description(d.map(str::to_string))
        .build()
}

async fn create_sg(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    let mut req = ec2
        .create_security_group()
        .group_name(name)
        .description(format!("{name} group"))
        .vpc_id(vpc);
    if !tags.is_empty() {
        req = req.tag_specifications(tag_spec(e::ResourceType::SecurityGroup, tags));
    }
    req.send().await.unwrap().group_id().unwrap().to_string()
}

async fn create_tg(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    vpc: &str,
    name: &str,
    proto: l::ProtocolEnum,
    port: i32,
    kind: l::TargetTypeEnum,
) -> String {
    elb.create_target_group()
        .name(name)
        .protocol(proto)
        .port(port)
        .vpc_id(vpc)
        .target_type(kind)
        .tags(ltag("elbv2.k8s.aws/cluster", "demo"))
        .tags(ltag("purpose", name))
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string()
}

async fn listener(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    lb: &str,
    proto: l::ProtocolEnum,
    port: i32,
    tg: &str,
) {
    elb.create_listener()
        .load_balancer_arn(lb)
        .protocol(proto)
        .port(port)
        .default_actions(
            l::Action::builder()
                .r#type(l::ActionTypeEnum::Forward)
                .target_group_arn(tg)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The scenario: a cluster VPC with every rule kind, ENIs, an instance, two NLBs (with and
/// without SGs), an ALB, TGs, listeners and tags; plus a second VPC whose resources must not
/// show up in a VPC-scoped load.
pub async fn seed(env: &Env) -> Seeded {
    let (ec2, elb) = (&env.ec2, &env.elb);
    let mut s = Seeded::default();
    s.vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .tag_specifications(tag_spec(e::ResourceType::Vpc, &[("Name", "cluster")]))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    for (cidr, az) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
        let id = ec2
            .create_subnet()
            .vpc_id(&s.vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .tag_specifications(tag_spec(
                e::ResourceType::Subnet,
                &[("kubernetes.io/role/elb", "1")],
            ))
            .send()
            .await
            .unwrap()
            .subnet()
            .unwrap()
            .subnet_id()
            .unwrap()
            .to_string();
        s.subnets.push(id);
    }
    s.other_vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let other_subnet = ec2
        .create_subnet()
        .vpc_id(&s.other_vpc)
        .cidr_block("10.9.1.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();

    s.prefix_list = ec2
        .create_managed_prefix_list()
        .prefix_list_name("corp")
        .address_family("IPv4")
        .max_entries(5)
        .entries(
            e::AddPrefixListEntry::builder()
                .cidr("192.168.1.0/24")
                .build(),
        )
        .entries(
            e::AddPrefixListEntry::builder()
                .cidr("192.168.0.0/24")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .prefix_list()
        .unwrap()
        .prefix_list_id()
        .unwrap()
        .to_string();

    s.sg_front = create_sg(
        ec2,
        &s.vpc,
        "k8s-default-web",
        &[
            ("elbv2.k8s.aws/cluster", "demo"),
            ("service.k8s.aws/stack", "default/web"),
            ("Name", "web-frontend"),
        ],
    )
    .await;
    s.sg_back = create_sg(
        ec2,
        &s.vpc,
        "k8s-traffic-demo",
        &[
            ("elbv2.k8s.aws/cluster", "demo"),
            ("elbv2.k8s.aws/resource", "backend-sg"),
        ],
    )
    .await;
    s.sg_node = create_sg(
        ec2,
        &s.vpc,
        "node",
        &[("kubernetes.io/cluster/demo", "owned")],
    )
    .await;
    s.sg_spare = create_sg(ec2, &s.vpc, "spare", &[]).await;
    s.sg_other_vpc = create_sg(ec2, &s.other_vpc, "elsewhere", &[]).await;

    // Every rule kind on the frontend SG; one rule carries tags.
    ec2.authorize_security_group_ingress()
        .group_id(&s.sg_front)
        .ip_permissions(
            perm("tcp", Some(80), Some(80))
                .ip_ranges(cidr("0.0.0.0/0", Some("web")))
                .build(),
        )
        .ip_permissions(
            perm("tcp", Some(443), Some(443))
                .ipv6_ranges(e::Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .ip_permissions(
            perm("tcp", Some(5432), Some(5432))
                // moto drops a prefix-list rule's description (AWS keeps it): none is seeded.
                .prefix_list_ids(
                    e::PrefixListId::builder()
                        .prefix_list_id(&s.prefix_list)
                        .build(),
                )
                .build(),
        )
        .ip_permissions(
            perm("icmp", Some(8), Some(-1))
                .ip_ranges(cidr("10.0.0.0/8", None))
                .build(),
        )
        .ip_permissions(
            perm("-1", None, None)
                .ip_ranges(cidr("10.1.0.0/16", None))
                .build(),
        )
        .ip_permissions(
            perm("udp", Some(53), Some(53))
                .ip_ranges(cidr("10.0.0.0/16", None))
                .build(),
        )
        .tag_specifications(tag_spec(
            e::ResourceType::SecurityGroupRule,
            &[("owner", "team-a")],
        ))
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&s.sg_node)
        .ip_permissions(
            perm("tcp", Some(30000), Some(32767))
                .user_id_group_pairs(
                    e::UserIdGroupPair::builder()
                        .group_id(&s.sg_back)
                        .description("elbv2.k8s.aws/targetGroupBinding=shared")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    s.eni_node = ec2
        .create_network_interface()
        .subnet_id(&s.subnets[0])
        .groups(&s.sg_node)
        .description("aws-K8S-i-node")
        .tag_specifications(tag_spec(
            e::ResourceType::NetworkInterface,
            &[("node.k8s.amazonaws.com/instance_id", "i-x")],
        ))
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    // moto creates no ENIs for load balancers: seed the one an NLB would have.
    s.eni_lb = ec2
        .create_network_interface()
        .subnet_id(&s.subnets[1])
        .groups(&s.sg_front)
        .groups(&s.sg_back)
        .description("ELB net/web-nlb/0123456789abcdef")
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();

    let image = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .unwrap()
        .images()
        .first()
        .and_then(|i| i.image_id())
        .unwrap()
        .to_string();
    let run = ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .instance_type(e::InstanceType::T3Micro)
        .subnet_id(&s.subnets[0])
        .security_group_ids(&s.sg_node)
        .tag_specifications(tag_spec(e::ResourceType::Instance, &[("Name", "node-1")]))
        .send()
        .await
        .unwrap();
    let inst = &run.instances()[0];
    s.instance = inst.instance_id().unwrap().to_string();
    s.instance_eni = inst.network_interfaces()[0]
        .network_interface_id()
        .unwrap()
        .to_string();

    let lb = |name: &str,
              kind: l::LoadBalancerTypeEnum,
              scheme: l::LoadBalancerSchemeEnum,
              sgs: Vec<String>,
              subnets: Vec<String>| {
        let elb = elb.clone();
        let name = name.to_string();
        async move {
            elb.create_load_balancer()
                .name(&name)
                .r#type(kind)
                .scheme(scheme)
                .set_subnets(Some(subnets))
                .set_security_groups((!sgs.is_empty()).then_some(sgs))
                .tags(ltag("elbv2.k8s.aws/cluster", "demo"))
                .tags(ltag("service.k8s.aws/stack", &format!("default/{name}")))
                .send()
                .await
                .unwrap()
                .load_balancers()[0]
                .load_balancer_arn()
                .unwrap()
                .to_string()
        }
    };
    use l::LoadBalancerSchemeEnum::{Internal, InternetFacing};
    use l::LoadBalancerTypeEnum::{Application, Network};
    s.nlb = lb(
        "web-nlb",
        Network,
        InternetFacing,
        vec![s.sg_front.clone(), s.sg_back.clone()],
        s.subnets.clone(),
    )
    .await;
    s.nlb_legacy = lb("legacy-nlb", Network, Internal, vec![], s.subnets.clone()).await;
    s.alb = lb(
        "web-alb",
        Application,
        Internal,
        vec![s.sg_front.clone()],
        s.subnets.clone(),
    )
    .await;
    s.other_vpc_lb = lb("elsewhere", Network, Internal, vec![], vec![other_subnet]).await;

    s.tg_instance = create_tg(
        elb,
        &s.vpc,
        "tg-instance",
        l::ProtocolEnum::Tcp,
        30080,
        l::TargetTypeEnum::Instance,
    )
    .await;
    s.tg_ip = create_tg(
        elb,
        &s.vpc,
        "tg-ip",
        l::ProtocolEnum::Tcp,
        8080,
        l::TargetTypeEnum::Ip,
    )
    .await;
    s.tg_http = create_tg(
        elb,
        &s.vpc,
        "tg-http",
        l::ProtocolEnum::Http,
        8080,
        l::TargetTypeEnum::Ip,
    )
    .await;
    s.tgs = vec![s.tg_instance.clone(), s.tg_ip.clone(), s.tg_http.clone()];
    for i in 0..EXTRA_TGS {
        s.tgs.push(
            create_tg(
                elb,
                &s.vpc,
                &format!("extra-{i}"),
                l::ProtocolEnum::Tcp,
                9000 + i as i32,
                l::TargetTypeEnum::Ip,
            )
            .await,
        );
    }
    s.other_vpc_tg = create_tg(
        elb,
        &s.other_vpc,
        "tg-elsewhere",
        l::ProtocolEnum::Tcp,
        80,
        l::TargetTypeEnum::Ip,
    )
    .await;

    listener(elb, &s.nlb, l::ProtocolEnum::Tcp, 80, &s.tg_instance).await;
    listener(elb, &s.nlb_legacy, l::ProtocolEnum::Tcp, 443, &s.tg_ip).await;
    for port in [80, 8080, 8081] {
        listener(elb, &s.alb, l::ProtocolEnum::Http, port, &s.tg_http).await;
    }
    elb.register_targets()
        .target_group_arn(&s.tg_instance)
        .targets(
            l::TargetDescription::builder()
                .id(&s.instance)
                .port(30080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.register_targets()
        .target_group_arn(&s.tg_ip)
        .targets(
            l::TargetDescription::builder()
                .id("10.0.1.50")
                .port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s
}
