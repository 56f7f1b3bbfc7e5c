//! The launcher through `kube`'s real client against a loopback stand-in of the API server
//! (`fake_api`): the REST calls it makes, in order, with bodies equal to the manifests; the
//! phases it reads from its watch; what it deletes; how a refusal surfaces.
use std::time::{Duration, Instant};

use crate::fake_api::FakeApi;
use meetvault_auth::token::{self, Token};
use meetvault_config::KubernetesConfig;
use meetvault_core::bots::{LaunchRequest, Launcher};
use meetvault_core::ids::BotId;
use meetvault_k8s::{KubernetesLauncher, pod_manifest, pod_name, secret_name};
use serde_json::Value;

pub(crate) const NAMESPACE: &str = "bots-ns";

pub(crate) fn config() -> KubernetesConfig {
    KubernetesConfig {
        namespace: NAMESPACE.into(),
        image: "registry.example.com/meetvault:0.1.0".into(),
        ..KubernetesConfig::default()
    }
}

async fn launcher() -> (std::sync::Arc<FakeApi>, KubernetesLauncher) {
    let (fake, url) = FakeApi::start(NAMESPACE).await;
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    (fake, KubernetesLauncher::start(client, config()))
}

fn request() -> LaunchRequest {
    LaunchRequest {
        bot_id: BotId::from(uuid::Uuid::new_v4()),
        server_url: "https://meetvault.example.com".into(),
        token: Token::generate(token::BOT_TOKEN),
        max_duration_secs: Some(1800),
    }
}

/// Polls `f` until it holds (the watch delivers asynchronously), for at most 10 s.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The object as the client sent it, without what the fake server added.
fn as_sent(mut v: Value) -> Value {
    let meta = v["metadata"].as_object_mut().unwrap();
    meta.remove("uid");
    meta.remove("resourceVersion");
    v.as_object_mut().unwrap().remove("status");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_creates_the_pod_then_its_secret_owned_by_the_pod() {
    let (fake, launcher) = launcher().await;
    let request = request();
    launcher.launch(&request).unwrap();

    let creates: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    let paths: Vec<&str> = creates.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/bots-ns/pods",
            "/api/v1/namespaces/bots-ns/secrets"
        ]
    );
    let (secret, pod) = pod_manifest(&config(), &request);
    assert_eq!(creates[0].body, serde_json::to_value(&pod).unwrap());
    let pod_name = pod_name(request.bot_id);
    let stored = fake.pod(&pod_name).unwrap();
    assert_eq!(as_sent(stored.clone()), creates[0].body);

    // The secret is the manifest's, owned by the pod the server made.
    let mut sent_secret = creates[1].body.clone();
    let owners = sent_secret["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences")
        .unwrap();
    assert_eq!(sent_secret, serde_json::to_value(&secret).unwrap());
    assert_eq!(
        owners,
        serde_json::json!([{
            "apiVersion": "v1", "kind": "Pod", "name": pod_name,
            "uid": stored["metadata"]["uid"],
        }])
    );
    let token = request.token.expose();
    assert_eq!(
        fake.secret(&secret_name(request.bot_id)).unwrap()["stringData"]["token"],
        token
    );
    assert!(!creates[0].body.to_string().contains(token));
    let env = &creates[0].body["spec"]["containers"][0]["env"][0];
    assert_eq!(
        env["valueFrom"]["secretKeyRef"]["name"],
        secret_name(request.bot_id)
    );
    assert_eq!(launcher.is_alive(request.bot_id), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_alive_follows_the_pod_phase_through_the_watch() {
    let (fake, launcher) = launcher().await;
    let (a, b) = (request(), request());
    launcher.launch(&a).unwrap();
    launcher.launch(&b).unwrap();
    let (name_a, name_b) = (pod_name(a.bot_id), pod_name(b.bot_id));
    // The watch is open (labelled by the launcher's selector) once the list came back.
    until("the watch", || {
        fake.requests().iter().any(|r| {
            r.method == "GET"
                && r.query.contains("watch=true")
                && r.query
                    .contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dmeetvault")
        })
    })
    .await;
    fake.set_phase(&name_a, "Running");
    assert_eq!(launcher.is_alive(a.bot_id), Some(true));
    fake.set_phase(&name_a, "Succeeded");
    until("a finished bot to read as dead", || {
        launcher.is_alive(a.bot_id) == Some(false)
    })
    .await;
    fake.set_phase(&name_b, "Failed");
    until("a failed bot to read as dead", || {
        launcher.is_alive(b.bot_id) == Some(false)
    })
    .await;

    let c = request();
    launcher.launch(&c).unwrap();
    fake.set_phase(&pod_name(c.bot_id), "Running");
    fake.delete_pod(&pod_name(c.bot_id));
    until("a pod deleted by someone else to read as dead", || {
        launcher.is_alive(c.bot_id) == Some(false)
    })
    .await;
    // A bot this launcher has never seen: heartbeats decide.
    assert_eq!(launcher.is_alive(request().bot_id), None);
    // All of it came through the one watch, not by listing again.
    let lists = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.query.contains("watch=true"))
        .count();
    assert_eq!(lists, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_deletes_the_pod_and_its_secret() {
    let (fake, launcher) = launcher().await;
    let request = request();
    launcher.launch(&request).unwrap();
    launcher.stop(request.bot_id);
    until("both deleted", || {
        fake.pod(&pod_name(request.bot_id)).is_none()
            && fake.secret(&secret_name(request.bot_id)).is_none()
    })
    .await;
    let deletes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert_eq!(
        deletes[0].path,
        format!(
            "/api/v1/namespaces/bots-ns/pods/{}",
            pod_name(request.bot_id)
        )
    );
    assert_eq!(deletes[0].body["propagationPolicy"], "Background");
    assert_eq!(deletes[0].body["gracePeriodSeconds"], 5);
    assert_eq!(
        deletes[1].path,
        format!(
            "/api/v1/namespaces/bots-ns/secrets/{}",
            secret_name(request.bot_id)
        )
    );
    // Stopping a bot that has no pod (already gone) is quiet.
    launcher.stop(request.bot_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pod_fails_the_launch_and_creates_no_secret() {
    let (fake, launcher) = launcher().await;
    fake.refuse_pods();
    let request = request();
    let e = launcher.launch(&request).unwrap_err();
    assert!(e.to_string().contains("Kubernetes API"), "{e}");
    assert!(
        !fake.requests().iter().any(|r| r.path.ends_with("/secrets")),
        "a secret was created for a refused pod"
    );
    assert_eq!(launcher.is_alive(request.bot_id), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_secret_fails_the_launch_and_deletes_its_pod() {
    let (fake, launcher) = launcher().await;
    fake.refuse_secrets();
    let request = request();
    launcher.launch(&request).unwrap_err();
    assert!(fake.pod(&pod_name(request.bot_id)).is_none());
    let delete = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(delete.body["gracePeriodSeconds"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_running_before_a_restart_are_known_from_the_first_list() {
    let (fake, url) = FakeApi::start(NAMESPACE).await;
    let earlier = request();
    let (_, mut pod) = pod_manifest(&config(), &earlier);
    pod.status = Some(k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Running".into()),
        ..Default::default()
    });
    fake.insert_pod(serde_json::to_value(&pod).unwrap());
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let launcher = KubernetesLauncher::start(client, config());
    until("the first list", || launcher.knows(earlier.bot_id)).await;
    assert_eq!(launcher.is_alive(earlier.bot_id), Some(true));
}

#[test]
fn a_current_thread_runtime_is_refused_with_a_clear_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (fake, launcher) = launcher().await;
        assert!(launcher.launch(&request()).is_err());
        assert!(fake.requests().iter().all(|r| r.method != "POST"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_from_a_thread_outside_the_runtime_waits_on_the_launchers_runtime() {
    let (fake, launcher) = launcher().await;
    let request = request();
    let launcher = std::sync::Arc::new(launcher);
    let on_thread = launcher.clone();
    let bot = request.bot_id;
    tokio::task::spawn_blocking(move || on_thread.launch(&request))
        .await
        .unwrap()
        .unwrap();
    assert!(fake.pod(&pod_name(bot)).is_some());
    assert!(fake.secret(&secret_name(bot)).is_some());
}
