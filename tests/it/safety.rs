//! Safety invariant (issue 8.5): no mutating request without confirmation, in any command path.
//! Every command that can mutate — `apply` of an annotation edit and of a rule edit, on the demo,
//! a world file and the live APIs — is run without consent (no --yes, stdin not a terminal,
//! even with "yes" piped in) and under --readonly; mutations are counted where they would land:
//! the world file's bytes, the fake kube-apiserver's log and the moto proxy's log. A control row
//! with --yes shows each counter does see a mutation. The TUI is driven in live --readonly mode
//! through tmux (in the serial `tmux` test group by its name).

use crate::fake_apiserver::FakeApiServer;
use crate::live_cli_support::*;
use crate::moto_proxy::MotoProxy;

const MANAGE: &str =
    "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules=true";

/// How a row tries to get its way.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// No --yes; stdin /dev/null.
    NoConsent,
    /// No --yes; "yes" piped in (a pipe is not a terminal: still no consent).
    PipedYes,
    Readonly,
    ReadonlyYes,
}

impl Mode {
    const ALL: [Mode; 4] = [
        Mode::NoConsent,
        Mode::PipedYes,
        Mode::Readonly,
        Mode::ReadonlyYes,
    ];

    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::NoConsent | Mode::PipedYes => &[],
            Mode::Readonly => &["--readonly"],
            Mode::ReadonlyYes => &["--readonly", "--yes"],
        }
    }

    fn input(self) -> Option<&'static str> {
        matches!(self, Mode::PipedYes).then_some("yes\n")
    }

    /// cli.md: 1 declined, 2 refused.
    fn code(self) -> i32 {
        match self {
            Mode::NoConsent | Mode::PipedYes => 1,
            Mode::Readonly | Mode::ReadonlyYes => 2,
        }
    }

    fn readonly(self) -> bool {
        matches!(self, Mode::Readonly | Mode::ReadonlyYes)
    }
}

/// Where the mutations would land, and how many there were.
struct Counters<'a> {
    file: Option<(&'a std::path::Path, Vec<u8>)>,
    fake: Option<&'a FakeApiServer>,
    proxy: Option<&'a MotoProxy>,
}

impl Counters<'_> {
    /// (file changed, PATCH/PUT/POST/DELETE at the fake, mutating actions at the proxy).
    fn mutations(&self) -> (bool, usize, usize) {
        (
            self.file
                .as_ref()
                .is_some_and(|(p, before)| std::fs::read(p).unwrap() != *before),
            self.fake.map_or(0, |f| f.mutating_requests().len()),
            self.proxy.map_or(0, |p| p.mutating().len()),
        )
    }

    /// Every request at either server (a --readonly apply sends none at all).
    fn requests(&self) -> (usize, usize) {
        (
            self.fake.map_or(0, |f| f.requests().len()),
            self.proxy.map_or(0, |p| p.actions().len()),
        )
    }
}

/// Run every mode of one command; then the control with --yes, which must mutate.
async fn table(lbsg: &Lbsg, name: &str, cmd: &[&str], c: &Counters<'_>) -> usize {
    let mut rows = 0;
    for mode in Mode::ALL {
        let mut args = cmd.to_vec();
        args.extend_from_slice(mode.flags());
        let before = c.requests();
        let run = lbsg.run_input(&args, mode.input()).await;
        assert_eq!(run.code, Some(mode.code()), "{name} {mode:?}: {run}");
        assert_eq!(c.mutations(), (false, 0, 0), "{name} {mode:?}: {run}");
        if mode.readonly() {
            assert_eq!(c.requests(), before, "{name} {mode:?} sent requests: {run}");
            assert!(run.err.contains("--readonly"), "{name} {mode:?}: {run}");
        } else {
            assert!(
                run.err.contains("pass --yes") && run.err.contains("nothing was changed"),
                "{name} {mode:?}: {run}"
            );
        }
        rows += 1;
    }
    rows
}

async fn control(lbsg: &Lbsg, name: &str, cmd: &[&str], c: &Counters<'_>) {
    let mut args = cmd.to_vec();
    args.push("--yes");
    let run = lbsg.run(&args).await;
    assert_eq!(run.code, Some(0), "{name} control: {run}");
    assert_ne!(
        c.mutations(),
        (false, 0, 0),
        "{name}: the counters saw the --yes apply"
    );
}

#[tokio::test]
async fn safety_no_mutation_without_confirmation_offline() {
    let lbsg = Lbsg::new();
    let world = lbsg.path("world.yaml");
    let run = lbsg
        .run(&["snapshot", "--demo", "--out", world.to_str().unwrap()])
        .await;
    assert_eq!(run.code, Some(0), "{run}");
    let w = world.to_str().unwrap();
    let mut rows = 0;
    for (name, cmd) in [
        (
            "demo annotation",
            vec!["apply", "svc/billing/invoices", "--demo", "--set", MANAGE],
        ),
        (
            "demo rule",
            vec![
                "apply",
                "sg-0nodes",
                "--demo",
                "--add-rule",
                "tcp:2222:10.0.0.0/8",
            ],
        ),
        (
            "file annotation",
            vec![
                "apply",
                "svc/billing/invoices",
                "--world",
                w,
                "--set",
                MANAGE,
            ],
        ),
        (
            "file rule",
            vec![
                "apply",
                "sg-0nodes",
                "--world",
                w,
                "--add-rule",
                "tcp:2222:10.0.0.0/8",
            ],
        ),
    ] {
        let c = Counters {
            file: Some((&world, std::fs::read(&world).unwrap())),
            fake: None,
            proxy: None,
        };
        rows += table(&lbsg, name, &cmd, &c).await;
    }
    // The file counter sees a consented apply.
    let c = Counters {
        file: Some((&world, std::fs::read(&world).unwrap())),
        fake: None,
        proxy: None,
    };
    control(
        &lbsg,
        "file annotation",
        &[
            "apply",
            "svc/billing/invoices",
            "--world",
            w,
            "--set",
            MANAGE,
        ],
        &c,
    )
    .await;
    eprintln!("offline: {rows} rows without a mutation");
}

#[tokio::test]
async fn safety_no_mutation_without_confirmation_live() {
    let Some((proxy, ec2)) = moto("safety_no_mutation_without_confirmation_live").await else {
        return;
    };
    let (vpc, _) = seed_vpc(&ec2).await;
    let sg = app_sg(&ec2, &vpc).await;
    let fake = FakeApiServer::start().await;
    let vpc_arg = format!("--aws-vpc-id={vpc}");
    seed_cluster(&fake, &["--cluster-name=demo", &vpc_arg]);
    proxy.clear();
    let lbsg = Lbsg::new().kube(&fake).aws(&proxy);
    let c = Counters {
        file: None,
        fake: Some(&fake),
        proxy: Some(&proxy),
    };
    let annotation = ["apply", "svc/shop/web", "--set", MANAGE];
    let rule = [
        "apply",
        sg.as_str(),
        "--add-rule",
        "tcp:443:10.0.0.0/8",
        "--vpc-id",
        vpc.as_str(),
    ];
    let mut rows = 0;
    rows += table(&lbsg, "live annotation", &annotation, &c).await;
    rows += table(&lbsg, "live rule", &rule, &c).await;
    // Both counters see consented applies: the PATCH at the fake, the authorize at the proxy.
    control(&lbsg, "live annotation", &annotation, &c).await;
    assert!(!fake.mutating_requests().is_empty());
    control(&lbsg, "live rule", &rule, &c).await;
    assert_eq!(proxy.mutating(), ["ec2:AuthorizeSecurityGroupIngress"]);
    eprintln!("live: {rows} rows without a mutation");
}

/// The real TUI, live (fake kube-apiserver + moto proxy), --readonly: the edit and the remedy
/// paths are refused and neither server sees a mutating request. tmux group by name.
#[test]
fn safety_tui_e2e_live_readonly_sends_no_mutation() {
    use crate::tui_e2e::Tmux;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some((proxy, ec2)) = rt.block_on(moto("safety_tui_e2e_live_readonly_sends_no_mutation"))
    else {
        return;
    };
    let vpc = rt.block_on(seed_vpc(&ec2)).0;
    let fake = rt.block_on(FakeApiServer::start());
    let vpc_arg = format!("--aws-vpc-id={vpc}");
    seed_cluster(&fake, &["--cluster-name=demo", &vpc_arg]);
    proxy.clear();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig_yaml("fake")).unwrap();

    let t = Tmux::start(
        &["--readonly"],
        120,
        40,
        &[
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
            ("AWS_ENDPOINT_URL", &proxy.url),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ],
    );
    t.wait_for(&["ctx fake", "RO", "shop"]);
    t.text("/web");
    t.keys(&["Enter", "e"]);
    let s = t.wait_for(&["read-only mode (--readonly): edits are disabled"]);
    assert!(!s.contains("plan:"), "{s}");
    t.keys(&[":"]);
    t.text("findings");
    t.keys(&["Enter", "f"]);
    let s = t.wait_for(&["read-only mode"]);
    assert!(!s.contains("plan:"), "{s}");
    t.keys(&["C-r"]);
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
    assert!(
        !fake.requests().is_empty() && !proxy.actions().is_empty(),
        "the TUI read both sides"
    );
    assert!(
        fake.mutating_requests().is_empty(),
        "{:#?}",
        fake.mutating_requests()
    );
    assert!(proxy.mutating().is_empty(), "{:?}", proxy.mutating());
    drop(rt);
}
