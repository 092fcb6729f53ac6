//! The TUI's live pipeline on the AWS side, against moto through the counting fault proxy: the
//! first picture without per-LB details, throttling shown and ridden out, failures marking the
//! feed stale and recovering.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lbsg::cli::args::SourceArgs;
use lbsg::tui::action::Action;
use lbsg::tui::live::{LiveOptions, LiveSource};
use lbsg::tui::state::State;

use crate::moto_proxy::{Fault, Inject};
use crate::tui_live::{App, fast};
use aws_sdk_elasticloadbalancingv2::types as l;

/// A VPC with an SG, an NLB with a listener and a TG with a target, through `proxy`.
async fn seed_aws(proxy: &crate::moto_proxy::MotoProxy, ec2: &aws_sdk_ec2::Client) -> String {
    let (vpc, subnets) = crate::live_cli_support::seed_vpc(ec2).await;
    let sdk = crate::aws_common::sdk_config(&proxy.url).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let sg = ec2
        .create_security_group()
        .group_name("front")
        .description("front")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let lb = elb
        .create_load_balancer()
        .name("web")
        .r#type(l::LoadBalancerTypeEnum::Network)
        .set_subnets(Some(subnets))
        .security_groups(&sg)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let tg = elb
        .create_target_group()
        .name("web")
        .protocol(l::ProtocolEnum::Tcp)
        .port(80)
        .vpc_id(&vpc)
        .target_type(l::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    elb.create_listener()
        .load_balancer_arn(&lb)
        .protocol(l::ProtocolEnum::Tcp)
        .port(80)
        .default_actions(
            l::Action::builder()
                .r#type(l::ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(
            l::TargetDescription::builder()
                .id("10.0.1.50")
                .port(80)
                .build(),
        )
        .send()
        .await
        .unwrap();
    vpc
}

fn aws_args(vpc: &str) -> SourceArgs {
    SourceArgs {
        no_kube: true,
        vpc_id: Some(vpc.to_string()),
        region: Some("us-east-1".into()),
        ..SourceArgs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_aws_first_picture_without_details_then_details() {
    let Some((proxy, ec2)) = crate::live_cli_support::moto("tui_live_aws_lazy").await else {
        return;
    };
    let vpc = seed_aws(&proxy, &ec2).await;
    proxy.clear();
    let mut app = App::start(LiveSource::new(
        aws_args(&vpc),
        LiveOptions {
            aws_endpoint: Some(proxy.url.clone()),
            ..fast()
        },
    ));
    // When the first per-LB call reaches AWS, the first world must already be on its way to
    // the app (details wait for the first picture). The hook holds that call while it looks.
    let before_first_world = Arc::new(Mutex::new(None::<bool>));
    {
        let (rx, inbox, worlds, seen) = (
            app.rx.clone(),
            app.inbox.clone(),
            app.worlds.clone(),
            before_first_world.clone(),
        );
        proxy.before_nth("elasticloadbalancing:DescribeListeners", 1, async move {
            let mut rx = rx.lock().unwrap();
            let mut inbox = inbox.lock().unwrap();
            while let Ok(a) = rx.try_recv() {
                inbox.push_back(a);
            }
            let delivered = *worlds.lock().unwrap() > 0
                || inbox.iter().any(|a| matches!(a, Action::LiveWorld { .. }));
            *seen.lock().unwrap() = Some(!delivered);
        });
    }
    app.until("the first world", |s| s.world.is_some()).await;
    let first = app.state.world.clone().unwrap();
    assert_eq!(first.aws.load_balancers.as_ref().map(|m| m.len()), Some(1));
    assert!(first.aws.security_groups.is_some());
    assert_eq!(
        first.aws.listeners, None,
        "listeners are not in the first picture"
    );
    assert_eq!(first.aws.target_health, None);
    app.until("listeners and target health", |s| {
        s.world.as_ref().is_some_and(|w| {
            w.aws.listeners.as_ref().is_some_and(|m| !m.is_empty())
                && w.aws.target_health.as_ref().is_some_and(|m| !m.is_empty())
        })
    })
    .await;
    assert_eq!(
        *before_first_world.lock().unwrap(),
        Some(false),
        "DescribeListeners reached AWS before the first world was delivered"
    );
    let counts = proxy.counts();
    assert_eq!(
        counts.get("elasticloadbalancing:DescribeListeners"),
        Some(&1),
        "{counts:?}"
    );
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
    assert!(app.state.feeds["aws"].error.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_aws_failure_marks_stale_keeps_data_and_recovers() {
    let Some((proxy, ec2)) = crate::live_cli_support::moto("tui_live_aws_failure").await else {
        return;
    };
    let vpc = seed_aws(&proxy, &ec2).await;
    let mut app = App::start(LiveSource::new(
        aws_args(&vpc),
        LiveOptions {
            aws_endpoint: Some(proxy.url.clone()),
            aws_every: Some(Duration::from_millis(500)),
            ..fast()
        },
    ));
    app.until("the first world", |s| s.world.is_some()).await;
    let lbs = |s: &State| {
        s.world
            .as_ref()
            .and_then(|w| w.aws.load_balancers.as_ref())
            .map(|m| m.len())
    };
    assert_eq!(lbs(&app.state), Some(1));
    assert!(app.state.feeds["aws"].error.is_none());

    // Expired credentials: an error the SDK does not retry, so the failure is quick.
    proxy.inject(Inject::new("*", Fault::Expired));
    app.until("the aws feed stale", |s| s.feeds["aws"].error.is_some())
        .await;
    let err = app.state.feeds["aws"].error.clone().unwrap();
    assert!(err.starts_with("AWS:"), "{err}");
    assert!(app.state.is_stale(&app.state.feeds["aws"]));
    assert_eq!(lbs(&app.state), Some(1), "the last good data stays");
    assert!(
        app.state
            .banner
            .as_ref()
            .is_some_and(|b| b.text.contains("showing the last good data")),
        "{:?}",
        app.state.banner
    );

    proxy.clear_faults();
    app.until("the aws feed recovered", |s| s.feeds["aws"].error.is_none())
        .await;
    assert!(!app.state.is_stale(&app.state.feeds["aws"]));
    assert_eq!(lbs(&app.state), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_live_aws_throttling_is_shown_in_the_header_not_fatal() {
    let Some((proxy, ec2)) = crate::live_cli_support::moto("tui_live_aws_throttling").await else {
        return;
    };
    let vpc = seed_aws(&proxy, &ec2).await;
    proxy.clear();
    // ELB answers the first two DescribeLoadBalancers with its own `Throttling` error.
    const LBS: &str = "elasticloadbalancing:DescribeLoadBalancers";
    proxy.inject(Inject::new(LBS, Fault::Throttle).times(2));
    let mut app = App::start(LiveSource::new(
        aws_args(&vpc),
        LiveOptions {
            aws_endpoint: Some(proxy.url.clone()),
            ..fast()
        },
    ));
    app.until("the first world, and the throttling noted", |s| {
        s.world.is_some() && s.feeds["aws"].throttled_at.is_some()
    })
    .await;
    assert_eq!(proxy.injected_count(LBS, Fault::Throttle), 2);
    let w = app.state.world.clone().unwrap();
    assert_eq!(
        w.aws.load_balancers.as_ref().map(|m| m.len()),
        Some(1),
        "throttling was ridden out: the load balancer is there"
    );
    assert!(
        app.state.feeds["aws"].error.is_none(),
        "{:?}",
        app.state.feeds
    );

    // What the user sees: the header says so.
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
    t.draw(|f| lbsg::tui::ui::render(&app.state, f)).unwrap();
    let screen: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("throttled"), "{screen}");
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
}
