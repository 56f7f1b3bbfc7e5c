//! [`KubernetesLauncher`]: core's `Launcher` as a pod per bot. `launch` creates the pod, then
//! its token secret owned by the pod (waiting for the API server's answer, so a refusal is the
//! bot's `launch_failed`); `stop` deletes both; `is_alive` reads the pod phases a background
//! list-then-watch keeps (no `kube-runtime`: one list, one watch, relist when it ends).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use meetvault_config::KubernetesConfig;
use meetvault_core::CoreError;
use meetvault_core::bots::{LaunchRequest, Launcher};
use meetvault_core::ids::BotId;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinHandle;

use crate::K8sError;
use crate::manifest::{self, owned_by, pod_manifest};

/// How long creating or deleting a bot's objects may take.
const API_TIMEOUT: Duration = Duration::from_secs(20);
/// The server closes each watch after this long; the launcher relists and watches again.
const WATCH_SECS: u32 = 290;

/// What the launcher knows of a bot's pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `launch` is creating it.
    Starting,
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Deleted, or missing from a relist.
    Gone,
}

impl Phase {
    fn of(pod: &Pod) -> Option<Self> {
        match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
            None | Some("Pending") => Some(Self::Pending),
            Some("Running") => Some(Self::Running),
            Some("Succeeded") => Some(Self::Succeeded),
            Some("Failed") => Some(Self::Failed),
            // "Unknown": the node stopped reporting; heartbeats decide.
            Some(_) => None,
        }
    }

    fn alive(self) -> bool {
        matches!(self, Self::Starting | Self::Pending | Self::Running)
    }
}

type Phases = Arc<Mutex<HashMap<String, Phase>>>;

fn lock(phases: &Phases) -> std::sync::MutexGuard<'_, HashMap<String, Phase>> {
    phases.lock().unwrap_or_else(|p| p.into_inner())
}

/// A pod per bot in `bot.kubernetes.namespace`.
pub struct KubernetesLauncher {
    config: KubernetesConfig,
    pods: Api<Pod>,
    secrets: Api<Secret>,
    phases: Phases,
    runtime: Handle,
    watcher: JoinHandle<()>,
}

impl std::fmt::Debug for KubernetesLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesLauncher")
            .field("namespace", &self.config.namespace)
            .field("pods_known", &lock(&self.phases).len())
            .finish_non_exhaustive()
    }
}

impl Drop for KubernetesLauncher {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl KubernetesLauncher {
    /// A launcher over `client`, watching its pods from now on (call inside the runtime).
    pub fn start(client: kube::Client, config: KubernetesConfig) -> Self {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &config.namespace);
        let secrets: Api<Secret> = Api::namespaced(client, &config.namespace);
        let phases = Phases::default();
        let watcher = tokio::spawn(watch_pods(pods.clone(), phases.clone()));
        Self {
            config,
            pods,
            secrets,
            phases,
            runtime: Handle::current(),
            watcher,
        }
    }

    /// Whether the watch has answered with a first list yet (tests wait for it).
    pub fn knows(&self, bot: BotId) -> bool {
        lock(&self.phases).contains_key(&manifest::pod_name(bot))
    }

    /// Runs `f` to completion from a synchronous `Launcher` method: on a multi-threaded
    /// runtime's thread, moving that thread's other tasks away first.
    fn wait<F: Future>(&self, f: F) -> Result<F::Output, K8sError> {
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                Ok(tokio::task::block_in_place(|| h.block_on(f)))
            }
            Ok(_) => Err(K8sError::CurrentThreadRuntime),
            Err(_) => Ok(self.runtime.block_on(f)),
        }
    }

    async fn create(&self, secret: Secret, pod: Pod) -> Result<(), K8sError> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let pod = self
            .pods
            .create(&PostParams::default(), &pod)
            .await
            .map_err(|e| K8sError::api("creating the bot's pod", &e))?;
        let created = match owned_by(secret, &pod) {
            Some(secret) => self
                .secrets
                .create(&PostParams::default(), &secret)
                .await
                .map(drop)
                .map_err(|e| K8sError::api("creating the bot's token secret", &e)),
            None => Err(K8sError::Answer("the created pod has no name or uid")),
        };
        if created.is_err() {
            // Without its token the pod could never start.
            let gone = DeleteParams::background().grace_period(0);
            if let Err(e) = self.pods.delete(&name, &gone).await {
                tracing::warn!(pod = %name, error = %K8sError::api("deleting the pod", &e), "a bot pod without its secret remains");
            }
        }
        created
    }
}

impl Launcher for KubernetesLauncher {
    fn launch(&self, request: &LaunchRequest) -> Result<(), CoreError> {
        let (secret, pod) = pod_manifest(&self.config, request);
        let name = manifest::pod_name(request.bot_id);
        lock(&self.phases).insert(name.clone(), Phase::Starting);
        let created = self
            // The timer is made inside the future, where a runtime is current.
            .wait(async { tokio::time::timeout(API_TIMEOUT, self.create(secret, pod)).await })
            .and_then(|r| r.unwrap_or(Err(K8sError::Timeout)));
        if let Err(e) = created {
            lock(&self.phases).remove(&name);
            tracing::error!(bot = %request.bot_id, pod = %name, error = %e, "cannot start a bot pod");
            return Err(CoreError::Unavailable(
                "the Kubernetes API (bot.launcher = \"kubernetes\")",
            ));
        }
        tracing::info!(bot = %request.bot_id, pod = %name, namespace = %self.config.namespace, "bot pod created");
        Ok(())
    }

    fn stop(&self, bot: BotId) {
        let pod = manifest::pod_name(bot);
        let secret = manifest::secret_name(bot);
        lock(&self.phases).remove(&pod);
        let pods = self.pods.clone();
        let secrets = self.secrets.clone();
        let grace = u32::try_from(self.config.stop_grace_secs).unwrap_or(u32::MAX);
        self.runtime.spawn(async move {
            let deleting = async {
                let p = pods
                    .delete(&pod, &DeleteParams::background().grace_period(grace))
                    .await;
                // The pod owns it; deleted too in case the garbage collector lags or the
                // owner was never set.
                let s = secrets.delete(&secret, &DeleteParams::background()).await;
                (p, s)
            };
            match tokio::time::timeout(API_TIMEOUT, deleting).await {
                Err(_) => tracing::warn!(bot = %bot, pod = %pod, "deleting a bot pod timed out"),
                Ok((p, s)) => {
                    for (what, result) in [("pod", p.map(drop)), ("secret", s.map(drop))] {
                        match result {
                            Ok(()) => {}
                            Err(kube::Error::Api(status)) if status.code == 404 => {}
                            Err(e) => tracing::warn!(bot = %bot, what, error = %K8sError::api("deleting", &e), "cannot delete a bot's object"),
                        }
                    }
                }
            }
        });
    }

    fn is_alive(&self, bot: BotId) -> Option<bool> {
        lock(&self.phases)
            .get(&manifest::pod_name(bot))
            .map(|p| p.alive())
    }
}

/// Keeps `phases` in step with the launcher's pods: list, then watch from that version; on
/// the watch's end relist, on an error back off (1 s doubling to 30 s).
async fn watch_pods(pods: Api<Pod>, phases: Phases) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match watch_once(&pods, &phases).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = %K8sError::api("watching bot pods", &e), "the bot pod watch failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn watch_once(pods: &Api<Pod>, phases: &Phases) -> Result<(), kube::Error> {
    let selector = manifest::selector();
    let list = pods.list(&ListParams::default().labels(&selector)).await?;
    {
        let listed: HashMap<String, Option<Phase>> = list
            .items
            .iter()
            .filter_map(|p| Some((p.metadata.name.clone()?, Phase::of(p))))
            .collect();
        let mut map = lock(phases);
        // A pod that vanished unseen is gone; one already gone at the last list is forgotten;
        // one being created right now stays.
        map.retain(|name, phase| listed.contains_key(name) || *phase != Phase::Gone);
        for (name, phase) in map.iter_mut() {
            if !listed.contains_key(name) && *phase != Phase::Starting {
                *phase = Phase::Gone;
            }
        }
        for (name, phase) in listed {
            match phase {
                Some(p) => map.insert(name, p),
                None => map.remove(&name),
            };
        }
    }
    let version = list.metadata.resource_version.unwrap_or_default();
    let params = WatchParams::default().labels(&selector).timeout(WATCH_SECS);
    let mut events = pods.watch(&params, &version).await?.boxed();
    while let Some(event) = events.try_next().await? {
        let (pod, phase) = match event {
            WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                let phase = Phase::of(&pod);
                (pod, phase)
            }
            WatchEvent::Deleted(pod) => (pod, Some(Phase::Gone)),
            WatchEvent::Bookmark(_) => continue,
            // 410 Gone: the version is too old; relist.
            WatchEvent::Error(status) if status.code == 410 => return Ok(()),
            WatchEvent::Error(status) => return Err(kube::Error::Api(status)),
        };
        let Some(name) = pod.metadata.name else {
            continue;
        };
        let mut map = lock(phases);
        match phase {
            Some(p) => map.insert(name, p),
            None => map.remove(&name),
        };
    }
    Ok(())
}
