//! The audit log: append-only on both backends, signed checkpoints verifiable with the served
//! key, inclusion proofs, exports that verify offline, and tampering found by `audit verify`.

use meetvault_test_support::{Cred, TestApp, execute};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::meetvault;

/// `meetvault audit verify` on `app`'s database: exit code and output.
pub(crate) fn verify_cli(app: &TestApp, extra: &[&str]) -> (i32, String) {
    let out = meetvault()
        .args(["--data-dir", app.config.data_dir.to_str().unwrap()])
        .args(["--database-url", app.config.database_url().expose()])
        .args(["audit", "verify"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn busy_app() -> TestApp {
    let app = TestApp::spawn_with(|c| c.audit.checkpoint_every = 3).await;
    let owner = app.register("audit@example.com", "O").await;
    for i in 0..4 {
        app.send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/workspaces",
            Some(serde_json::json!({"name": format!("W{i}")})),
        )
        .await;
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_deletes_are_refused_and_tampering_after_dropping_the_trigger_is_found() {
    let app = busy_app().await;
    let (code, out) = verify_cli(&app, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");

    let (update, delete, drop) = match app.db().kind() {
        meetvault_config::DatabaseKind::Sqlite => (
            "UPDATE audit_log SET outcome = 'failure' WHERE seq = 3",
            "DELETE FROM audit_log WHERE seq = 3",
            "DROP TRIGGER audit_log_no_update",
        ),
        meetvault_config::DatabaseKind::Postgres => (
            "UPDATE audit_log SET outcome = 'failure' WHERE seq = 3",
            "DELETE FROM audit_log WHERE seq = 3",
            "DROP TRIGGER audit_log_append_only ON audit_log",
        ),
    };
    for sql in [update, delete] {
        let refused = match app.db() {
            meetvault_store::Database::Sqlite(p, ..) => {
                sqlx::raw_sql(sql).execute(p).await.is_err()
            }
            meetvault_store::Database::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.is_err(),
        };
        assert!(refused, "`{sql}` must be refused by a trigger");
    }

    execute(app.db(), drop).await;
    execute(app.db(), "UPDATE audit_log SET entry = replace(entry, '\"workspace.create\"', '\"workspace.nothing\"') WHERE seq = 3").await;
    let (code, out) = verify_cli(&app, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("TAMPERING DETECTED: entry 3 was edited"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_entry_with_a_forged_leaf_hash_still_breaks_the_signed_checkpoint() {
    let app = busy_app().await;
    let drop = match app.db().kind() {
        meetvault_config::DatabaseKind::Sqlite => "DROP TRIGGER audit_log_no_delete",
        meetvault_config::DatabaseKind::Postgres => {
            "DROP TRIGGER audit_log_append_only ON audit_log"
        }
    };
    execute(app.db(), drop).await;
    execute(app.db(), "DELETE FROM audit_log WHERE seq = 2").await;
    let (code, out) = verify_cli(&app, &["--json"]);
    assert_eq!(code, 3, "{out}");
    let report: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(report["first_problem"], "entry 2 was removed");
    assert!(
        out.contains("checkpoint_mismatch"),
        "the signed root no longer matches: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_proofs_and_exports_verify_against_the_served_key() {
    let app = busy_app().await;
    let owner = app
        .session_from(
            app.login("audit@example.com", meetvault_test_support::PASSWORD)
                .await,
            "audit@example.com",
        )
        .await;
    let vkey = app
        .get("/.well-known/meetvault-signing-key")
        .await
        .text()
        .await
        .unwrap();
    let verifier = meetvault_crypto::note::NoteVerifier::parse(vkey.trim()).unwrap();
    let note = app
        .get("/api/v1/audit/checkpoint")
        .await
        .text()
        .await
        .unwrap();
    let text = verifier.verify(&note).unwrap();
    let cp = meetvault_crypto::note::Checkpoint::parse(&text).unwrap();
    assert!(cp.size >= 6, "{text}");

    let proof: Value = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/audit/proof/2",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let hash = |h: &Value| <[u8; 32]>::try_from(hex::decode(h.as_str().unwrap()).unwrap()).unwrap();
    let path: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hash)
        .collect();
    let leaf = meetvault_crypto::merkle::leaf_hash(proof["entry"].as_str().unwrap().as_bytes());
    assert_eq!(leaf, hash(&proof["leaf_hash"]));
    let root = hash(&proof["root_hash"]);
    assert!(meetvault_crypto::merkle::verify_inclusion(
        &leaf,
        1,
        proof["tree_size"].as_u64().unwrap(),
        &path,
        &root
    ));
    assert!(
        verifier
            .verify(proof["checkpoint"].as_str().unwrap())
            .is_ok()
    );

    let export = app
        .send(
            &Cred::Session(owner),
            Method::GET,
            "/api/v1/audit/export",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let verify_export = |text: &str| {
        std::fs::write(&file, text).unwrap();
        let out = meetvault()
            .args(["audit", "verify", "--export", file.to_str().unwrap()])
            .args(["--public-key", vkey.trim()])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = verify_export(&export);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = verify_export(&export.replacen("workspace.create", "workspace.erased", 1));
    assert_eq!(code, Some(3));
    assert!(out.contains("was edited"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_checkpoint_never_signs_one_and_the_writer_does_on_its_schedule() {
    let app = TestApp::spawn().await;
    let owner = app.register("reads@example.com", "O").await;
    for i in 0..3 {
        app.send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/workspaces",
            Some(serde_json::json!({"name": format!("W{i}")})),
        )
        .await;
    }
    let signed = app.db().checkpoints().await.unwrap().len();
    let size = |note: &str| note.lines().nth(1).unwrap().parse::<u64>().unwrap();
    for _ in 0..50 {
        let r = app.get("/api/v1/audit/checkpoint").await;
        assert_eq!(r.status(), 200);
        assert_eq!(size(&r.text().await.unwrap()), 0, "the start-up checkpoint");
    }
    assert_eq!(
        app.db().checkpoints().await.unwrap().len(),
        signed,
        "50 anonymous reads after growth wrote no checkpoint"
    );
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/audit/proof/1",
            None,
        )
        .await;
    assert_eq!(r.status(), 425, "an entry no checkpoint covers yet");
    assert_eq!(r.headers()["retry-after"], "60");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_checkpointed_yet");
    assert_eq!(app.db().checkpoints().await.unwrap().len(), signed);

    // The writer side signs: a second instance of the installation signs at start, then every
    // second while the log grows.
    let _writer = app
        .spawn_sibling(|c| c.audit.checkpoint_interval_secs = 1)
        .await;
    let started = std::time::Instant::now();
    while size(
        &app.get("/api/v1/audit/checkpoint")
            .await
            .text()
            .await
            .unwrap(),
    ) < 4
    {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = app
        .send(
            &Cred::Session(owner),
            Method::GET,
            "/api/v1/audit/proof/1",
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
}
