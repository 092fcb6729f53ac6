//! Running the real `lbsg` binary against the test servers: a private HOME, a kubeconfig that
//! points at a fake kube-apiserver, `AWS_ENDPOINT_URL` at a moto proxy, and nothing inherited
//! from the developer's environment (no real cluster, account or credentials can be reached).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::aws_common::{moto_endpoint, sdk_config};
use crate::fake_apiserver::FakeApiServer;
use crate::moto_proxy::MotoProxy;

/// One run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub out: String,
    pub err: String,
}

impl Run {
    /// Lines of stderr that start with `prefix` (e.g. `lbsg snapshot:`).
    pub fn err_lines(&self, prefix: &str) -> Vec<&str> {
        self.err.lines().filter(|l| l.starts_with(prefix)).collect()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.out, self.err
        )
    }
}

/// The environment one test runs the binary in.
pub struct Lbsg {
    dir: TempDir,
    vars: BTreeMap<String, String>,
}

impl Lbsg {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut vars = BTreeMap::new();
        let home = dir.path().display().to_string();
        for (k, v) in [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", home.clone()),
            ("XDG_STATE_HOME", format!("{home}/state")),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            // No emulator wired yet: any AWS call fails fast instead of leaving the machine.
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
        ] {
            vars.insert(k.to_string(), v);
        }
        Self { dir, vars }
    }

    /// A kubeconfig whose one context `fake` points at `server`.
    pub fn kube_url(mut self, server: &str) -> Self {
        let path = self.path("kubeconfig");
        std::fs::write(&path, kubeconfig(server)).unwrap();
        self.vars
            .insert("KUBECONFIG".into(), path.display().to_string());
        self
    }

    pub fn kube(self, fake: &FakeApiServer) -> Self {
        self.kube_url(&fake.url)
    }

    pub fn aws(self, proxy: &MotoProxy) -> Self {
        self.set("AWS_ENDPOINT_URL", &proxy.url)
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    pub fn unset(mut self, key: &str) -> Self {
        self.vars.remove(key);
        self
    }

    /// A file in this test's private directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Run `lbsg ARGS` with stdin from /dev/null (so no terminal to confirm on), up to 3 min.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_input(args, None).await
    }

    /// Run `lbsg ARGS` with `input` piped to stdin (a pipe is no terminal either), up to 3 min.
    pub async fn run_input(&self, args: &[&str], input: Option<&str>) -> Run {
        use tokio::io::AsyncWriteExt as _;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lbsg"))
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(self.dir.path())
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            // The binary may exit before reading: a broken pipe is not the test's failure.
            let _ = stdin.write_all(text.as_bytes()).await;
        }
        let out = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("lbsg {args:?} did not finish in 3 minutes"))
            .unwrap();
        Run {
            code: out.status.code(),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `lbsg snapshot` of one VPC's AWS side (no cluster) with `--stats`, into `out`.
pub async fn aws_snapshot(lbsg: &Lbsg, vpc: &str, out: &std::path::Path) -> Run {
    lbsg.run(&[
        "snapshot",
        "--no-kube",
        "--vpc-id",
        vpc,
        "--out",
        out.to_str().unwrap(),
        "--stats",
    ])
    .await
}

pub fn kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
         clusters:\n- name: fake\n  cluster:\n    server: {server}\n\
         contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n\
         users:\n- name: tester\n  user:\n    token: not-a-secret\n"
    )
}

/// A loopback URL nothing listens on.
pub async fn closed_port_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

/// A moto proxy on a fresh account and SDK clients that seed through it, or `None` (skip).
pub async fn moto(test: &str) -> Option<(MotoProxy, aws_sdk_ec2::Client)> {
    let endpoint = moto_endpoint(test)?;
    let proxy = MotoProxy::start(&endpoint).await;
    let sdk = sdk_config(&proxy.url).await;
    Some((proxy, aws_sdk_ec2::Client::new(&sdk)))
}

/// The scenario of `aws_seed`, seeded through `proxy` (then its log is cleared).
pub async fn seed_through(proxy: &MotoProxy) -> crate::aws_seed::Seeded {
    let sdk = sdk_config(&proxy.url).await;
    let env = crate::aws_common::Env {
        aws: lbsg::infra::aws::Aws::new(&sdk),
        ec2: aws_sdk_ec2::Client::new(&sdk),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
        recorder: Default::default(),
        account: proxy.account.clone(),
    };
    let s = crate::aws_seed::seed(&env).await;
    proxy.clear();
    s
}

/// A user-owned application security group ("app") in `vpc`.
pub async fn app_sg(ec2: &aws_sdk_ec2::Client, vpc: &str) -> String {
    ec2.create_security_group()
        .group_name("app")
        .description("app servers")
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string()
}

/// A VPC with two subnets (what an LBC cluster needs at least), through `ec2`.
pub async fn seed_vpc(ec2: &aws_sdk_ec2::Client) -> (String, Vec<String>) {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
        let id = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .send()
            .await
            .unwrap()
            .subnet()
            .unwrap()
            .subnet_id()
            .unwrap()
            .to_string();
        subnets.push(id);
    }
    (vpc, subnets)
}

// ---- cluster objects ----------------------------------------------------------------------

pub const SOURCE_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

/// An NLB Service handled by the LBC (ip targets), two ports.
pub fn web_service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        }},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [
            {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP", "nodePort": 31443},
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 31080},
        ]}
    })
}

/// A second Service with source ranges and a UDP port.
pub fn dns_service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "dns", "namespace": "infra", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
            SOURCE_RANGES: "10.0.0.0/8,192.168.0.0/16",
        }},
        "spec": {"type": "LoadBalancer", "selector": {"app": "dns"}, "ports": [
            {"port": 53, "targetPort": 5353, "protocol": "UDP", "nodePort": 30053},
        ]}
    })
}

pub fn shop_ingress() -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "front", "namespace": "shop", "annotations": {
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/inbound-cidrs": "10.0.0.0/8",
            "alb.ingress.kubernetes.io/group.name": "shop",
        }},
        "spec": {"ingressClassName": "alb", "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
        ]}}]}
    })
}

pub fn target_group_binding() -> Value {
    json!({
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": {"name": "k8s-shop-web-0123", "namespace": "shop"},
        "spec": {"serviceRef": {"name": "web", "port": 443},
                 "targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-shop-web/0123456789abcdef",
                 "targetType": "ip"}
    })
}

/// The LBC Deployment where the chart puts it, with `args`.
pub fn controller(args: &[&str]) -> Value {
    crate::kube_support::deployment(
        "kube-system",
        "aws-load-balancer-controller",
        json!({"app.kubernetes.io/name": "aws-load-balancer-controller"}),
        args,
    )
}

/// A cluster: the two Services, the Ingress, a TGB, two Nodes and the controller.
pub fn seed_cluster(fake: &FakeApiServer, controller_args: &[&str]) {
    fake.put(web_service());
    fake.put(dns_service());
    fake.put(shop_ingress());
    fake.put(target_group_binding());
    fake.put(crate::kube_support::node("node-a"));
    fake.put(crate::kube_support::node("node-b"));
    fake.put(controller(controller_args));
}

pub fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}
