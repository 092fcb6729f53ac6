//! Kubeconfig contexts the way kubectl users expect them: `--kubeconfig` wins, else every file in
//! `KUBECONFIG` merged (first value wins), else `~/.kube/config`; `--context` else the
//! current-context; `-n NS` narrows namespaced kinds, `-A` (the default) watches all namespaces.
//!
//! The context is resolved once, when the client is built, and never follows later
//! `kubectl config use-context` calls: switching is building a new [`KubeClient`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Resource};

use crate::cli::args::SourceArgs;

/// Which namespaces the namespaced kinds are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::All => f.write_str("all namespaces"),
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
        }
    }
}

/// Where the kubeconfig, context and namespace scope come from.
#[derive(Debug, Clone, Default)]
pub struct ContextOptions {
    /// `--kubeconfig FILE`: only this file is read.
    pub kubeconfig: Option<PathBuf>,
    /// The value of `KUBECONFIG` (a path list), captured once so tests never read the process env.
    pub kubeconfig_env: Option<OsString>,
    /// `~/.kube`'s parent; `None` = no home, so no default file.
    pub home: Option<PathBuf>,
    /// `--context NAME`.
    pub context: Option<String>,
    /// `-n NS`.
    pub namespace: Option<String>,
    /// `-A`.
    pub all_namespaces: bool,
}

impl ContextOptions {
    /// The options a command line gives, with `KUBECONFIG` and `HOME` read from the environment.
    pub fn from_args(args: &SourceArgs) -> Self {
        Self {
            kubeconfig: args.kubeconfig.clone(),
            kubeconfig_env: std::env::var_os("KUBECONFIG"),
            home: std::env::var_os("HOME").map(PathBuf::from),
            context: args.context.clone(),
            namespace: args.namespace.clone(),
            all_namespaces: args.all_namespaces,
        }
    }

    pub fn scope(&self) -> Scope {
        match (&self.namespace, self.all_namespaces) {
            (Some(ns), false) => Scope::Namespace(ns.clone()),
            _ => Scope::All,
        }
    }

    /// The kubeconfig files to read, in kubectl's precedence order.
    pub fn kubeconfig_paths(&self) -> Vec<PathBuf> {
        if let Some(p) = &self.kubeconfig {
            return vec![p.clone()];
        }
        if let Some(env) = &self.kubeconfig_env {
            let paths: Vec<PathBuf> = std::env::split_paths(env)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            // An empty KUBECONFIG is ignored, as kubectl does.
            if !paths.is_empty() {
                return paths;
            }
        }
        self.home
            .iter()
            .map(|h| h.join(".kube").join("config"))
            .collect()
    }

    /// Read and merge the kubeconfig files (first file to set a value wins).
    pub fn load_kubeconfig(&self) -> Result<Kubeconfig, KubeError> {
        let paths = self.kubeconfig_paths();
        if paths.is_empty() {
            return Err(KubeError::NoKubeconfig);
        }
        let mut merged = Kubeconfig::default();
        for p in &paths {
            let one = read_kubeconfig(p)?;
            merged = merged
                .merge(one)
                .map_err(|e| KubeError::Kubeconfig(format!("{}: {e}", p.display())))?;
        }
        Ok(merged)
    }
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, KubeError> {
    Kubeconfig::read_from(path)
        .map_err(|e| KubeError::Kubeconfig(format!("{}: {e}", path.display())))
}

/// Why no client could be built. Each message says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    #[error("no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config")]
    NoKubeconfig,
    #[error("kubeconfig {0}")]
    Kubeconfig(String),
    #[error("the kubeconfig has no current-context; pass --context NAME (contexts: {})", list(.available))]
    NoContext { available: Vec<String> },
    #[error("context {name:?} is not in the kubeconfig (contexts: {})", list(.available))]
    UnknownContext {
        name: String,
        available: Vec<String>,
    },
    #[error("cannot build a client for context {context:?}: {message}")]
    Client { context: String, message: String },
    #[error(
        "cannot reach the API server {url} of context {context:?}: {message}; check the network (VPN, proxy) and the server address in the kubeconfig"
    )]
    Unreachable {
        context: String,
        url: String,
        message: String,
    },
    #[error(
        "the API server {url} of context {context:?} rejected the credentials (401 Unauthorized: {message}); log in again or pick another context"
    )]
    Unauthorized {
        context: String,
        url: String,
        message: String,
    },
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The context names a kubeconfig offers, sorted (for a context picker).
pub fn context_names(kubeconfig: &Kubeconfig) -> Vec<String> {
    let mut names: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// How long [`KubeClient::probe`] waits for an answer (a server that accepts connections but
/// never answers would otherwise hang the first request forever: kube sets no read timeout).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// An error and its sources, each message once (`a: b: c`): kube's own text for a failed
/// connection ("client error (Connect)") hides the reason, which is in the sources.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let msg = s.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// A client pinned to one context and namespace scope.
#[derive(Clone)]
pub struct KubeClient {
    client: Client,
    context: String,
    cluster_url: String,
    scope: Scope,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("context", &self.context)
            .field("cluster_url", &self.cluster_url)
            .field("scope", &self.scope)
            .finish()
    }
}

impl KubeClient {
    /// Resolve the kubeconfig and context from `options` and build a client. Makes no request.
    pub async fn connect(options: &ContextOptions) -> Result<Self, KubeError> {
        let kubeconfig = options.load_kubeconfig()?;
        Self::from_kubeconfig(kubeconfig, options).await
    }

    /// Build a client from an already loaded kubeconfig (`options` gives context and scope).
    pub async fn from_kubeconfig(
        kubeconfig: Kubeconfig,
        options: &ContextOptions,
    ) -> Result<Self, KubeError> {
        let available = context_names(&kubeconfig);
        let context = match options
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .filter(|c| !c.is_empty())
        {
            Some(c) => c,
            None => return Err(KubeError::NoContext { available }),
        };
        if !available.contains(&context) {
            return Err(KubeError::UnknownContext {
                name: context,
                available,
            });
        }
        let kube_options = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &kube_options)
            .await
            .map_err(|e| KubeError::Client {
                context: context.clone(),
                message: e.to_string(),
            })?;
        Self::from_config(config, context, options.scope())
    }

    /// Build a client from a kube `Config` (what the kubeconfig resolved to).
    pub fn from_config(config: Config, context: String, scope: Scope) -> Result<Self, KubeError> {
        let cluster_url = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| KubeError::Client {
            context: context.clone(),
            message: e.to_string(),
        })?;
        Ok(Self {
            client,
            context,
            cluster_url,
            scope,
        })
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// One cheap request (`GET /version`) before anything else, so an unreachable server or
    /// rejected credentials end a command with one message, instead of every watcher retrying
    /// until the snapshot gives up. Any other HTTP answer (even 403) means the server is there.
    pub async fn probe(&self) -> Result<(), KubeError> {
        let unreachable = |message: String| KubeError::Unreachable {
            context: self.context.clone(),
            url: self.cluster_url.clone(),
            message,
        };
        match tokio::time::timeout(PROBE_TIMEOUT, self.client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(kube::Error::Api(s))) if s.code == 401 => Err(KubeError::Unauthorized {
                context: self.context.clone(),
                url: self.cluster_url.clone(),
                message: s.message.clone(),
            }),
            Ok(Err(kube::Error::Api(_))) => Ok(()),
            Ok(Err(e)) => Err(unreachable(error_chain(&e))),
            Err(_) => Err(unreachable(format!(
                "no answer within {}s",
                PROBE_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The context name, for the header.
    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn cluster_url(&self) -> &str {
        &self.cluster_url
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// `context · scope`, as the header shows it.
    pub fn header(&self) -> String {
        format!("{} · {}", self.context, self.scope)
    }

    /// An `Api` for a namespaced kind, narrowed to the scope.
    pub fn scoped<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        match &self.scope {
            Scope::All => Api::all(self.client()),
            Scope::Namespace(ns) => Api::namespaced(self.client(), ns),
        }
    }
}
