//! The configuration's unit tests: defaults, the example file, layering and validation.

use super::*;

fn json(c: &Config) -> serde_json::Value {
    serde_json::to_value(c).unwrap()
}

fn load_with(
    toml: Option<&str>,
    env: &[(&str, &str)],
    o: &Overrides,
) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let source = match toml {
        Some(text) => {
            let path = dir.path().join("meetvault.toml");
            std::fs::write(&path, text).unwrap();
            ConfigSource::File(path)
        }
        None => ConfigSource::File(PathBuf::from("/nonexistent/meetvault.toml")),
    };
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    load(&source, env, o)
}

#[test]
fn the_example_file_parses_to_exactly_the_defaults() {
    let c = load_with(Some(EXAMPLE_TOML), &[], &Overrides::default()).unwrap();
    assert_eq!(json(&c), json(&Config::default()));
}

#[test]
fn every_default_key_appears_in_the_example() {
    // Keys of the serialized defaults must each be mentioned (set or commented) in the example.
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = v {
            for (k, v) in map {
                out.push(k.clone());
                walk(&format!("{prefix}{k}."), v, out);
            }
        }
    }
    let mut keys = Vec::new();
    walk("", &json(&Config::default()), &mut keys);
    for key in [
        "tls",
        "url",
        "max_connections",
        "path",
        "s3",
        "bucket",
        "endpoint",
        "region",
        "prefix",
        "access_key_id",
        "secret_access_key",
        "path_style",
        "allow_http",
        "contact",
        "metrics_token",
        "canonical",
        "policy",
        "encryption",
        "acknowledgments",
        "public_url",
        "cert_file",
        "key_file",
        "redirect_listen",
        "redis_url",
        "origin",
        "master_key_file",
        "master_key",
        "aws_kms",
        "key_id",
        "session_token",
        "model_dir",
    ] {
        keys.push(key.to_owned());
    }
    for key in keys {
        assert!(
            EXAMPLE_TOML.contains(&format!("{key} ="))
                || EXAMPLE_TOML.contains(&format!("[{key}]"))
                || EXAMPLE_TOML.contains(&format!(".{key}]")),
            "example file does not mention `{key}`"
        );
    }
}

#[test]
fn redis_url_comes_from_the_conventional_variable_below_the_prefixed_one() {
    let c = load_with(
        Some(""),
        &[("REDIS_URL", "redis://127.0.0.1:1/")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        c.rate_limit.redis_url.unwrap().expose(),
        "redis://127.0.0.1:1/"
    );
    let env = [
        ("REDIS_URL", "redis://127.0.0.1:1/"),
        ("MEETVAULT_RATE_LIMIT__REDIS_URL", "redis://127.0.0.1:2/"),
    ];
    let c = load_with(Some(""), &env, &Overrides::default()).unwrap();
    assert_eq!(
        c.rate_limit.redis_url.unwrap().expose(),
        "redis://127.0.0.1:2/"
    );
}

#[test]
fn weak_argon2_parameters_and_bad_proxy_ranges_are_refused() {
    let err = load_with(
        Some("[auth]\nargon2_memory_kib = 4096\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("auth.argon2_memory_kib"), "{err}");
    let err = load_with(
        Some("[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("server.trusted_proxies[0]"),
        "{err}"
    );
    let ok = load_with(
        Some("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n"),
        &[],
        &Overrides::default(),
    );
    assert!(ok.is_ok());
}

#[test]
fn layers_apply_in_order_file_env_flags() {
    let toml = "[server]\nlisten = \"127.0.0.1:1000\"\nrequest_timeout_secs = 5\n[log]\nlevel = \"warn\"\n";
    let env = [
        ("MEETVAULT_SERVER__LISTEN", "127.0.0.1:2000"),
        ("MEETVAULT_LOG__LEVEL", "debug"),
    ];
    let flags = Overrides {
        listen: Some("127.0.0.1:3000".parse().unwrap()),
        ..Default::default()
    };
    let c = load_with(Some(toml), &env, &flags).unwrap();
    assert_eq!(c.server.listen.port(), 3000, "flag beats env");
    assert_eq!(c.log.level, "debug", "env beats file");
    assert_eq!(c.server.request_timeout_secs, 5, "file beats default");
    assert_eq!(c.server.body_limit_bytes, 1024 * 1024, "default stays");
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    let err = load_with(
        Some("[server]\nlisten_addr = \"x\"\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("listen_addr") && msg.contains("server"),
        "{msg}"
    );

    let err = load_with(
        None,
        &[("MEETVAULT_SERVR__LISTEN", "127.0.0.1:1")],
        &Overrides::default(),
    );
    // A missing explicit file is itself an error; check env rejection with defaults only.
    assert!(matches!(err, Err(ConfigError::MissingFile { .. })));
    let env = [(
        "MEETVAULT_SERVR__LISTEN".to_string(),
        "127.0.0.1:1".to_string(),
    )];
    let err = load(&ConfigSource::Default, env, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("servr") && err.contains("MEETVAULT_SERVR__LISTEN"),
        "{err}"
    );
}

#[test]
fn invalid_values_are_rejected_naming_the_key() {
    let err = load_with(
        Some("[server]\nlisten = \"not-an-address\"\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("server.listen"), "{err}");
    let err = load_with(
        Some("[server]\nrequest_timeout_secs = 0\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("server.request_timeout_secs"), "{err}");
    let err = load_with(
        Some("[blobs]\nbackend = \"s3\"\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("blobs.s3"), "{err}");
    let err = load_with(
        Some("[database]\nurl = \"mysql://a@b/c\"\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("database.url") && err.contains("mysql"),
        "{err}"
    );
    let err = load_with(
        Some("[security_txt]\ncontact = [\"security@example.com\"]\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("security_txt.contact[0]"), "{err}");
    let err = load_with(
        Some("[transcription]\nlive_concurrency = 0\n"),
        &[],
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("transcription.live_concurrency"), "{err}");
}

#[test]
fn numeric_looking_env_secrets_keep_their_exact_text() {
    let env = [
        ("MEETVAULT_BLOBS__BACKEND", "s3"),
        ("MEETVAULT_BLOBS__S3__BUCKET", "2024"),
        ("MEETVAULT_BLOBS__S3__ACCESS_KEY_ID", "0123"),
        ("MEETVAULT_BLOBS__S3__SECRET_ACCESS_KEY", "00042"),
    ];
    let c = load(
        &ConfigSource::Default,
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        &Overrides::default(),
    )
    .unwrap();
    let s3 = c.blobs.s3.unwrap();
    assert_eq!(s3.bucket, "2024");
    assert_eq!(s3.access_key_id.unwrap().expose(), "0123");
    assert_eq!(s3.secret_access_key.unwrap().expose(), "00042");
}

#[test]
fn file_variants_read_secrets_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, "postgres://mv:from-file@127.0.0.1/mv\n").unwrap();
    let env = [(
        "MEETVAULT_DATABASE__URL_FILE".to_string(),
        secret.display().to_string(),
    )];
    let c = load(&ConfigSource::Default, env, &Overrides::default()).unwrap();
    assert_eq!(
        c.database_url().expose(),
        "postgres://mv:from-file@127.0.0.1/mv"
    );
    assert!(!serde_json::to_string(&c).unwrap().contains("from-file"));
}

#[test]
fn embedded_defaults_are_sqlite_and_files_in_the_data_dir() {
    let c = Config::default();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database_url().kind(), DatabaseKind::Sqlite);
    assert_eq!(
        c.database_url().expose(),
        "sqlite://./meetvault-data/meetvault.db"
    );
    assert_eq!(c.blob_path(), PathBuf::from("./meetvault-data/blobs"));
}

#[test]
fn compute_type_is_int8_by_default_and_f32_or_int8_by_choice() {
    let o = Overrides::default();
    assert_eq!(
        Config::default().transcription.compute_type,
        ComputeType::Int8
    );
    let c = load_with(Some(""), &[], &o).unwrap();
    assert_eq!(c.transcription.compute_type, ComputeType::Int8);
    let c = load_with(Some("[transcription]\ncompute_type = \"f32\"\n"), &[], &o).unwrap();
    assert_eq!(c.transcription.compute_type, ComputeType::F32);
    let env = [("MEETVAULT_TRANSCRIPTION__COMPUTE_TYPE", "f32")];
    let c = load_with(Some(""), &env, &o).unwrap();
    assert_eq!(c.transcription.compute_type, ComputeType::F32);
    let err = load_with(Some("[transcription]\ncompute_type = \"int4\"\n"), &[], &o).unwrap_err();
    assert!(err.to_string().contains("int4"), "{err}");
}

#[test]
fn email_goes_to_the_log_by_default_and_to_the_smtp_url_from_the_environment() {
    let o = Overrides::default();
    let c = load_with(Some(""), &[], &o).unwrap();
    assert!(
        c.email.smtp_server().unwrap().is_none(),
        "no server: the log"
    );
    let env = [(
        "MEETVAULT_EMAIL__SMTP_URL",
        "smtp://mv:s3cret@mail.example.com:587?tls=required",
    )];
    let c = load_with(Some(""), &env, &o).unwrap();
    let server = c.email.smtp_server().unwrap().unwrap();
    assert_eq!(server.security, SmtpSecurity::StartTls);
    assert_eq!(server.address(), "mail.example.com:587");
    assert_eq!(server.password.unwrap().expose(), "s3cret");
    assert!(!serde_json::to_string(&c).unwrap().contains("s3cret"));
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn plain_smtp_is_refused_unless_the_relay_is_on_loopback() {
    let o = Overrides::default();
    let env = [(
        "MEETVAULT_EMAIL__SMTP_URL",
        "smtp://mv:s3cret@mail.example.com:25",
    )];
    let err = load_with(Some(""), &env, &o).unwrap_err().to_string();
    assert!(err.contains("email.smtp_url"), "{err}");
    assert!(
        err.contains("smtps://") && err.contains("?tls=required"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    for local in [
        "smtp://127.0.0.1:2525",
        "smtp://localhost:25",
        "smtp://[::1]:25",
    ] {
        let env = [("MEETVAULT_EMAIL__SMTP_URL", local)];
        assert!(load_with(Some(""), &env, &o).is_ok(), "{local}");
    }
}

#[test]
fn a_from_that_is_not_a_mailbox_or_a_zero_timeout_is_refused() {
    let o = Overrides::default();
    let err = load_with(Some("[email]\nfrom = \"meetvault\"\n"), &[], &o)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("email.from") && err.contains("mailbox"),
        "{err}"
    );
    let err = load_with(Some("[email]\ntimeout_secs = 0\n"), &[], &o)
        .unwrap_err()
        .to_string();
    assert!(err.contains("email.timeout_secs"), "{err}");
    let c = load_with(Some("[email]\nfrom = \"Ops <ops@example.com>\"\n"), &[], &o).unwrap();
    assert_eq!(c.email.from, "Ops <ops@example.com>");
}
