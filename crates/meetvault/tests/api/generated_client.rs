//! The API contract as client generators read it: a Python client generated from the committed
//! `docs/openapi.json` (openapi-python-client, by `scripts/python-client.sh`) runs README's
//! flow — register, an API key, a meeting, an uploaded recording, its transcription job, the
//! transcript — against the real binary on this run's backends. A missing Python or virtualenv
//! fails with the reason; nothing here passes by skipping.

use std::process::Command;

use meetvault_test_support::media::{speak, whisper_model_dir};

use crate::helpers::{ServerProcess, blobs_env, database_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_generated_from_the_committed_document_runs_the_readme_flow() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("standup.wav");
    speak("The marmalade was delicious this morning.", "en-us", &wav);
    let mut env = vec![
        (
            "MEETVAULT_DATABASE__URL".to_owned(),
            database_env(dir.path()).await,
        ),
        (
            "MEETVAULT_TRANSCRIPTION__MODEL_DIR".to_owned(),
            whisper_model_dir().to_str().unwrap().to_owned(),
        ),
    ];
    let prefix = format!("client-{}", uuid::Uuid::new_v4().simple());
    env.extend(blobs_env(&prefix).await);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = ServerProcess::start(dir.path(), &env);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/python-client.sh"
    );
    let out = Command::new(script)
        .args(["flow", &server.url(""), wav.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the generated client's flow failed ({}):\n{stdout}\n{}\n--- server log ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(
        stdout.contains("ok: the transcript has words"),
        "the flow did not reach the transcript:\n{stdout}"
    );
}
