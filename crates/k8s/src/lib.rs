//! The Kubernetes bot launcher (`bot.launcher = "kubernetes"`): a pod per bot running the same
//! `meetvault bot run` a local launch runs, its token in a per-bot secret the pod owns, created,
//! watched and deleted through the Kubernetes API (`kube`, typed `k8s-openapi` objects).
//! Must never: put a token in a pod spec, argv or a log line, or know anything of bots beyond
//! core's `Launcher` contract.

mod launcher;
pub mod manifest;

use std::sync::Arc;

pub use launcher::KubernetesLauncher;
pub use manifest::{owned_by, pod_manifest, pod_name, role, secret_name};
use meetvault_config::BotLauncher;
use meetvault_core::{Core, CoreError};

/// What went wrong talking to the Kubernetes API, in words safe to log: an API refusal is
/// its status code and reason, never the message (which may quote what was sent).
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("{doing}: the API server answered {code} {reason}")]
    Refused {
        doing: &'static str,
        code: u16,
        reason: String,
    },
    #[error("{doing}: {detail}")]
    Client { doing: &'static str, detail: String },
    #[error("the Kubernetes API did not answer within the launch timeout")]
    Timeout,
    #[error("unexpected answer: {0}")]
    Answer(&'static str),
    #[error("the Kubernetes launcher needs tokio's multi-threaded runtime")]
    CurrentThreadRuntime,
    #[error("no Kubernetes client configuration (in-cluster or kubeconfig): {0}")]
    Config(String),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl K8sError {
    pub(crate) fn api(doing: &'static str, e: &kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => Self::Refused {
                doing,
                code: status.code,
                reason: status.reason.clone(),
            },
            // Transport and decoding errors carry no request body.
            other => Self::Client {
                doing,
                detail: other.to_string(),
            },
        }
    }
}

/// Installs the Kubernetes launcher into `core` when `bot.launcher = "kubernetes"` (a no-op for
/// any other launcher): the client from the pod's service account, or else the kubeconfig.
pub async fn install(core: &Core) -> Result<(), K8sError> {
    let bot = &core.config().bot;
    if bot.launcher != BotLauncher::Kubernetes {
        return Ok(());
    }
    let client = kube::Client::try_default()
        .await
        .map_err(|e| K8sError::Config(e.to_string()))?;
    let launcher = KubernetesLauncher::start(client, bot.kubernetes.clone());
    core.bots().install_launcher(Arc::new(launcher))?;
    tracing::info!(namespace = %bot.kubernetes.namespace, "Kubernetes bot launcher ready");
    Ok(())
}
