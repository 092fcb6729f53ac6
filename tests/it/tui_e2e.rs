//! The real `lbsg` TUI driven through tmux: a private server (`tmux -L`) per test, keys sent with
//! `send-keys`, the screen read with `capture-pane`, polled until the expected text shows (no
//! fixed sleeps). nextest runs these one at a time (test group `tmux`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);
const TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) struct Tmux {
    sock: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Start `lbsg ARGS` in a fresh tmux server of `w`×`h`; after it exits the pane prints its
    /// exit code and whether the terminal is back in canonical (cooked) mode.
    pub(crate) fn start(args: &[&str], w: u16, h: u16, env: &[(&str, &str)]) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let sock = format!(
            "lbsg-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut vars = vec![
            format!("XDG_STATE_HOME={}", dir.path().join("state").display()),
            format!("XDG_CONFIG_HOME={}", dir.path().join("config").display()),
            "LBSG_CONFIG_DIR=".to_string(),
        ];
        vars.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        let cmd = format!(
            "env {} {} {}; echo EXITED rc=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\{{0,1\\}}icanon'; sleep 600",
            vars.join(" "),
            env!("CARGO_BIN_EXE_lbsg"),
            args.join(" ")
        );
        let t = Tmux { sock, dir };
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "app",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            &cmd,
        ]);
        t
    }

    pub(crate) fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "app"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Esc, then wait until `gone` left the screen before anything else is typed: a key right
    /// after Esc would reach the app as Alt+key.
    pub(crate) fn esc(&self, gone: &str) {
        self.keys(&["Escape"]);
        let start = Instant::now();
        while self.screen().contains(gone) {
            assert!(
                start.elapsed() < TIMEOUT,
                "{gone:?} still on screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "app", "-l", text]);
    }

    pub(crate) fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "app"])
    }

    /// Poll the screen until every needle is on it.
    pub(crate) fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            if start.elapsed() > TIMEOUT {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                panic!("timed out waiting for {needles:?}; screen:\n{s}\nlog:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("state/lbsg/lbsg.log")
    }

    /// The TUI's pid, from its log.
    fn pid(&self) -> u32 {
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            if let Some(pid) = log
                .split_whitespace()
                .find_map(|w| w.strip_prefix("pid="))
                .and_then(|p| p.parse().ok())
            {
                return pid;
            }
            assert!(start.elapsed() < TIMEOUT, "no pid in the log:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// After the TUI exited: its exit code and whether the terminal is in cooked mode again.
    pub(crate) fn exit(&self) -> (String, bool) {
        let s = self.wait_for(&["EXITED rc="]);
        let rc = s
            .split("EXITED rc=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        let s = self.wait_for(&["icanon"]);
        let cooked = s.lines().any(|l| l.trim() == "icanon");
        (rc, cooked)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.sock, "kill-server"])
            .output();
    }
}

#[test]
fn tui_e2e_graph_shows_the_break_and_an_edit_fixes_it() {
    let t = Tmux::start(&["--demo"], 120, 40, &[]);
    t.wait_for(&["services & ingresses (14/14)", "billing"]);
    t.text("/invoices");
    t.keys(&["Enter", "Enter"]);
    // The graph names the break: no rule on the node SG admits the custom frontend SG.
    let s = t.wait_for(&[
        "service/billing/invoices",
        "0/2 targets reachable",
        "no backend SG",
    ]);
    assert!(s.contains("✗▶"), "the blocked hop is marked:\n{s}");
    t.keys(&["l", "l"]);
    t.wait_for(&["BLOCKED: sg-0nodes has no rule for tcp/30643 from sg-0invoiceslb"]);
    // Edit the annotation the finding's remedy names, preview, confirm.
    t.keys(&["e", "Down"]);
    t.text("true");
    t.keys(&["Enter"]);
    let s = t.wait_for(&[
        "plan: annotations of service/billing/invoices",
        "Cancel",
        "[by the LBC]",
    ]);
    assert!(
        s.contains("[sg-0invoiceslb] → [sg-0invoiceslb, sg-0backend]"),
        "{s}"
    );
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_for(&["applied 2 changes", "2/2 targets reachable"]);
    assert!(
        s.contains("sg-0backend"),
        "the backend SG now sits in the chain:\n{s}"
    );
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
}

#[test]
fn tui_e2e_narrow_terminal_uses_the_tree() {
    let t = Tmux::start(&["--demo"], 80, 24, &[]);
    t.wait_for(&["services & ingresses (14/14)"]);
    t.text("/invoices");
    t.keys(&["Enter", "Enter"]);
    let s = t.wait_for(&[
        "└─ backend",
        "sg-0nodes has no rule for tcp/30643 from sg-0invoiceslb",
    ]);
    assert!(s.contains("├─ frontend"), "{s}");
    t.esc("└─ backend");
    t.esc("/invoices");
    t.keys(&[":"]);
    t.text("sg sg-0web");
    t.keys(&["Enter", "r"]);
    // Rules of an LBC-owned SG: the annotation is offered instead.
    t.wait_for(&["managed by the LBC", "load-balancer-source-ranges"]);
    t.keys(&["Enter"]);
    t.wait_for(&["edit service/default/web"]);
    t.esc("edit service/default/web");
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
}

#[test]
fn tui_e2e_readonly_refuses_edits() {
    let t = Tmux::start(&["--demo", "--readonly"], 120, 40, &[]);
    let s = t.wait_for(&["services & ingresses (14/14)", "/us-east-1  RO"]);
    assert!(!s.contains(" e edit"), "edit keys are hidden:\n{s}");
    t.text("/invoices");
    t.keys(&["Enter", "Enter"]);
    t.wait_for(&["0/2 targets reachable"]);
    t.keys(&["e"]);
    let s = t.wait_for(&["read-only mode (--readonly): edits are disabled"]);
    assert!(!s.contains("edit service/billing/invoices"), "{s}");
    t.keys(&[":"]);
    t.text("findings");
    t.keys(&["Enter", "f"]);
    let s = t.wait_for(&["read-only mode"]);
    assert!(!s.contains("plan:"), "{s}");
    t.keys(&["?"]);
    let s = t.wait_for(&["help (esc closes)"]);
    assert!(
        !s.contains("edit_annotations") && !s.contains("apply_remedy"),
        "{s}"
    );
    t.esc("help (esc closes)");
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
}

fn copy_demo(dir: &Path) -> PathBuf {
    let path = dir.join("world.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/world.yaml"),
        &path,
    )
    .unwrap();
    path
}

#[test]
fn tui_e2e_world_file_edits_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let world = copy_demo(dir.path());
    let t = Tmux::start(&["--world", world.to_str().unwrap()], 120, 40, &[]);
    t.wait_for(&["ctx world.yaml", "services & ingresses (14/14)"]);
    t.text("/grafana");
    t.keys(&["Enter", "e", "Down", "Down"]);
    t.text("10.0.0.0/16");
    t.keys(&["Enter"]);
    t.wait_for(&[
        "plan: annotations of service/internal-tools/grafana",
        "narrows exposure",
    ]);
    t.keys(&["Tab", "Enter"]);
    t.wait_for(&["applied", "world file"]);
    let saved = std::fs::read_to_string(&world).unwrap();
    assert!(
        saved.contains("load-balancer-source-ranges: 10.0.0.0/16"),
        "the annotation is in the file"
    );
    assert!(
        dir.path().join("world.yaml.bak").exists(),
        "the previous file is kept"
    );
    // A refresh reads the file again and shows the same result.
    t.keys(&["C-r"]);
    t.wait_for(&["internal tcp/80"]);
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
}

#[test]
fn tui_e2e_terminal_restored_after_sigterm() {
    let t = Tmux::start(&["--demo"], 100, 30, &[]);
    t.wait_for(&["services & ingresses"]);
    let pid = t.pid();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(t.exit(), ("0".to_string(), true));
}

#[test]
fn tui_e2e_terminal_restored_after_panic() {
    let t = Tmux::start(
        &["--demo"],
        100,
        30,
        &[("LBSG_TEST_PANIC", "1"), ("RUST_BACKTRACE", "0")],
    );
    let (rc, cooked) = t.exit();
    assert_eq!(rc, "101", "a panic exits with Rust's panic code");
    assert!(cooked, "raw mode is off again");
    let s = t.screen();
    assert!(
        s.contains("deliberate panic"),
        "the panic message is readable:\n{s}"
    );
}

#[test]
fn tui_e2e_live_mode_says_what_is_missing() {
    let t = Tmux::start(&[], 100, 30, &[("KUBECONFIG", "/dev/null")]);
    t.wait_for(&["loading the world failed"]);
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
}

#[test]
fn tui_e2e_live_cluster_edit_is_patched() {
    use crate::fake_apiserver::FakeApiServer;
    use crate::kube_support::{deployment, service};
    use serde_json::json;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeApiServer::start());
    fake.put(deployment(
        "kube-system",
        "aws-load-balancer-controller",
        json!({"app.kubernetes.io/name": "aws-load-balancer-controller"}),
        &["--cluster-name=demo"],
    ));
    fake.put(service(
        "shop",
        "web",
        json!({"service.beta.kubernetes.io/aws-load-balancer-security-groups": "sg-0custom"}),
    ));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig_yaml("fake")).unwrap();

    let t = Tmux::start(
        &["--no-aws"],
        120,
        40,
        &[("KUBECONFIG", kubeconfig.to_str().unwrap())],
    );
    t.wait_for(&["ctx fake", "services & ingresses (1/1)", "shop"]);
    t.keys(&["e", "Down"]);
    t.text("true");
    t.keys(&["Enter"]);
    t.wait_for(&["plan: annotations of service/shop/web", "[by you]"]);
    t.keys(&["Tab", "Enter"]);
    t.wait_for(&["patched service/shop/web"]);
    let svc = fake.get("services", "shop", "web").unwrap();
    assert_eq!(
        svc["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"],
        "true",
        "{svc}"
    );
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
    drop(rt);
}

#[test]
fn tui_e2e_finding_remedy_fixes_the_broken_service() {
    let t = Tmux::start(&["--demo"], 120, 40, &[]);
    t.wait_for(&["services & ingresses (14/14)"]);
    t.keys(&[":"]);
    t.text("findings");
    t.keys(&["Enter"]);
    // The audit's planted problems, worst first.
    let s = t.wait_for(&["D07", "service/billing/invoices", "D14", "D04"]);
    assert!(
        s.contains("Custom frontend SG, backend rules not managed"),
        "{s}"
    );
    t.text("/invoices");
    t.keys(&["Enter"]);
    t.wait_for(&["set manage-backend-security-group-rules to true"]);
    t.keys(&["f"]);
    // Wait for the plan itself, not just the dialog (it opens while planning runs).
    t.wait_for(&[
        "plan: D07 service/billing/invoices",
        "Cancel",
        "[sg-0invoiceslb] → [sg-0invoiceslb, sg-0backend]",
    ]);
    t.keys(&["Tab", "Enter"]);
    t.wait_for(&["applied 2 changes"]);
    // The graph of the Service now reaches its targets.
    t.keys(&[":"]);
    t.text("svc");
    t.keys(&["Enter"]);
    t.text("/invoices");
    t.keys(&["Enter", "Enter"]);
    t.wait_for(&["service/billing/invoices", "2/2 targets reachable"]);
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
}

#[test]
fn tui_e2e_live_world_follows_the_cluster_without_a_key() {
    use crate::fake_apiserver::FakeApiServer;
    use crate::kube_support::{deployment, service};
    use serde_json::json;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeApiServer::start());
    fake.put(deployment(
        "kube-system",
        "aws-load-balancer-controller",
        json!({"app.kubernetes.io/name": "aws-load-balancer-controller"}),
        &["--cluster-name=demo"],
    ));
    fake.put(service("shop", "web", json!({})));
    let moto = rt.block_on(crate::live_cli_support::moto("tui_e2e_live_follow"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig_yaml("fake")).unwrap();
    let mut env = vec![
        ("KUBECONFIG", kubeconfig.to_str().unwrap().to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    let mut args = vec![];
    match &moto {
        Some((proxy, _)) => env.push(("AWS_ENDPOINT_URL", proxy.url.clone())),
        None => args.push("--no-aws"),
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let t = Tmux::start(&args, 140, 40, &env);
    t.wait_for(&["ctx fake", "kube live", "web"]);
    if moto.is_some() {
        t.wait_for(&["aws "]);
    }
    // Another client creates a Service: it shows up without a key being pressed.
    fake.put(service("shop", "checkout", json!({})));
    let s = t.wait_for(&["checkout"]);
    assert!(s.contains(" web "), "{s}");
    assert!(fake.delete("services", "shop", "web"));
    let start = Instant::now();
    while t.screen().contains(" web ") {
        assert!(
            start.elapsed() < TIMEOUT,
            "web still shown:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.keys(&["q"]);
    assert_eq!(t.exit(), ("0".to_string(), true));
    drop(rt);
}
