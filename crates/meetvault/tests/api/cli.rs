//! The command line, as an operator uses it: configuration precedence and rejection, the
//! example file, `migrate`, `openapi`, `--version`.

use std::process::Output;

use crate::helpers::{database_env, meetvault};

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = meetvault();
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn config_layers_apply_defaults_then_file_then_env_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("meetvault.toml"),
        "[server]\nlisten = \"127.0.0.1:1111\"\nrequest_timeout_secs = 7\nshutdown_grace_secs = 9\n\
         [log]\nlevel = \"warn\"\n",
    )
    .unwrap();
    let env = [
        ("MEETVAULT_SERVER__REQUEST_TIMEOUT_SECS", "8"),
        ("MEETVAULT_LOG__LEVEL", "debug"),
    ];
    let o = run(
        dir.path(),
        &["config", "check", "--json", "--log-level", "error"],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["server"]["listen"], "127.0.0.1:1111",
        "file beats default"
    );
    assert_eq!(v["server"]["shutdown_grace_secs"], 9, "file beats default");
    assert_eq!(v["server"]["request_timeout_secs"], 8, "env beats file");
    assert_eq!(v["log"]["level"], "error", "flag beats env");
    assert_eq!(v["server"]["body_limit_bytes"], 1048576, "default remains");
    assert_eq!(v["data_dir"], "./meetvault-data");
}

#[test]
fn config_check_redacts_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("s3-secret");
    std::fs::write(&secret_file, "s3-secret-from-file-71c2\n").unwrap();
    let env = [
        (
            "MEETVAULT_DATABASE__URL",
            "postgres://mv:db-pass-4410@127.0.0.1:5432/mv",
        ),
        ("MEETVAULT_BLOBS__BACKEND", "s3"),
        ("MEETVAULT_BLOBS__S3__BUCKET", "b"),
        ("MEETVAULT_BLOBS__S3__ACCESS_KEY_ID", "AKIA-id-5521"),
        (
            "MEETVAULT_BLOBS__S3__SECRET_ACCESS_KEY_FILE",
            secret_file.to_str().unwrap(),
        ),
        ("MEETVAULT_SERVER__METRICS_TOKEN", "metrics-token-9911"),
    ];
    for format in [&["config", "check"][..], &["config", "check", "--json"][..]] {
        let o = run(dir.path(), format, &env);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        for secret in [
            "db-pass-4410",
            "AKIA-id-5521",
            "s3-secret-from-file-71c2",
            "metrics-token-9911",
        ] {
            assert!(!out.contains(secret), "{secret} printed:\n{out}");
        }
        assert!(out.contains("[redacted]"), "{out}");
        assert!(
            out.contains("postgres://mv:[redacted]@127.0.0.1:5432/mv"),
            "{out}"
        );
    }
}

#[test]
fn bad_configuration_is_rejected_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("meetvault.toml"),
        "[server]\nlisten_adress = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let o = run(dir.path(), &["serve"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("listen_adress") && err.contains("server"),
        "{err}"
    );
    assert!(
        err.contains("meetvault config example"),
        "says what to do next: {err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &["serve"],
        &[("MEETVAULT_SERVER__REQUEST_TIMEOUT_SECS", "soon")],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("server.request_timeout_secs")
            && err.contains("MEETVAULT_SERVER__REQUEST_TIMEOUT_SECS"),
        "{err}"
    );

    let o = run(
        dir.path(),
        &["serve"],
        &[("MEETVAULT_LOG__LEVEL", "info,[=")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("log.level"), "{}", stderr(&o));

    let o = run(
        dir.path(),
        &["--config", "missing.toml", "config", "check"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    assert!(
        !dir.path().join("meetvault-data").exists(),
        "a rejected start creates nothing"
    );
}

#[test]
fn the_example_config_is_valid_and_annotated() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["config", "example"], &[]);
    assert!(o.status.success());
    let example = stdout(&o);
    assert!(
        example
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 20
    );
    std::fs::write(dir.path().join("meetvault.toml"), &example).unwrap();
    let o = run(dir.path(), &["config", "check"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn version_and_help_are_there() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["--version"], &[]);
    assert_eq!(
        stdout(&o).trim(),
        format!("meetvault {}", env!("CARGO_PKG_VERSION"))
    );
    let o = run(dir.path(), &["--help"], &[]);
    for cmd in ["serve", "migrate", "config", "openapi"] {
        assert!(stdout(&o).contains(cmd), "{}", stdout(&o));
    }
}

#[tokio::test]
async fn migrate_applies_once_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let env = [("MEETVAULT_DATABASE__URL", db.as_str())];
    let o = run(dir.path(), &["migrate", "--json"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["applied"].as_u64().unwrap() >= 1);
    let total = v["total"].clone();
    let o = run(dir.path(), &["migrate", "--json"], &env);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["applied"], 0);
    assert_eq!(v["total"], total);
}

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["openapi"], &[]);
    assert!(o.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .expect("docs/openapi.json is committed");
    assert!(
        stdout(&o) == committed,
        "docs/openapi.json is stale: run `cargo run -q -- openapi > docs/openapi.json` and commit it"
    );
}
