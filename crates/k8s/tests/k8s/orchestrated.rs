//! The launcher inside the real server: a bot sent through the public API becomes a pod (through
//! the orchestrator, on its own task, as `meetvault serve` runs it), the pod's failure ends the
//! bot `fatal_error/browser_crashed`, and that end deletes the pod and its secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use meetvault_config::BotLauncher;
use meetvault_core::ids::BotId;
use meetvault_k8s::{KubernetesLauncher, pod_name, secret_name};
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::{NAMESPACE, config};
use crate::fake_api::FakeApi;

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_sent_through_the_api_runs_as_a_pod_and_its_end_deletes_the_pod() {
    let (fake, url) = FakeApi::start(NAMESPACE).await;
    let app = TestApp::spawn_with(|c| {
        c.bot.launcher = BotLauncher::Kubernetes;
        c.bot.server_url = Some("https://meetvault.example.com".parse().unwrap());
        c.bot.kubernetes = config();
        c.bot.poll_interval_ms = 50;
    })
    .await;
    let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
    let launcher = Arc::new(KubernetesLauncher::start(client.clone(), config()));
    app.core().bots().install_launcher(launcher).unwrap();
    // Once only.
    let again = Arc::new(KubernetesLauncher::start(client, config()));
    assert!(app.core().bots().install_launcher(again).is_err());

    let cred = Cred::Session(app.register("k8s@example.com", "Pods").await);
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/bots",
            Some(json!({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Notetaker"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bot: Value = r.json().await.unwrap();
    let id = bot["id"].as_str().unwrap().to_owned();
    let bot_id: BotId = id.parse().unwrap();

    let pod = wait_for("the bot's pod", async || {
        fake.requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path.ends_with("/pods"))
            .map(|r| r.body)
    })
    .await;
    let command: Vec<&str> = pod["spec"]["containers"][0]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        command,
        [
            "meetvault",
            "bot",
            "run",
            "--bot-id",
            id.as_str(),
            "--server",
            "https://meetvault.example.com"
        ]
    );
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    assert_eq!(
        pod["metadata"]["labels"]["meetvault.dev/bot-id"],
        bot_id.uuid().hyphenated().to_string()
    );
    assert_eq!(name, pod_name(bot_id));
    // The secret follows the pod (created once the pod has its uid).
    wait_for("the bot's token secret", async || {
        fake.secret(&secret_name(bot_id))
    })
    .await;

    // The pod fails (the node ran out of memory, say): the bot ends, and its pod goes.
    fake.set_phase(&name, "Failed");
    let state = wait_for("the bot to end", async || {
        let v: Value = app
            .send(&cred, Method::GET, &format!("/api/v1/bots/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        (v["state"] == "fatal_error").then_some(v)
    })
    .await;
    assert_eq!(state["sub_code"], "browser_crashed", "{state}");
    wait_for("the pod and secret deleted", async || {
        (fake.pod(&name).is_none() && fake.secret(&secret_name(bot_id)).is_none()).then_some(())
    })
    .await;
}
