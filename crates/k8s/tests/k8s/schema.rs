//! The objects the launcher sends, held to the Kubernetes OpenAPI schemas by a validator we did
//! not write: kubernetes-validate (PyPI; `scripts/kubernetes-validate.sh`, run by
//! `scripts/deps.sh`), strict (an unknown or misspelt field is an error), for the Kubernetes
//! version `k8s-openapi` is built for and the newest the validator ships. So are the YAML
//! examples of `docs/kubernetes.md` (the RBAC Role and its binding), and the docs' TOML example
//! loads through the real config loader.

use std::path::{Path, PathBuf};
use std::process::Command;

use meetvault_auth::token::{self, Token};
use meetvault_config::{
    BotLauncher, ConfigSource, KubernetesConfig, Overrides, PullPolicy, TaintEffect, Toleration,
    TolerationOperator,
};
use meetvault_core::bots::LaunchRequest;
use meetvault_core::ids::BotId;
use meetvault_k8s::{pod_manifest, role};

/// `k8s-openapi`'s version feature (Cargo.toml) and the newest schema the validator ships.
const VERSIONS: &[&str] = &["1.32.0", "1.37.0"];

fn validator() -> PathBuf {
    let tools = std::env::var_os("MEETVAULT_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/meetvault-tools")
        });
    let bin = tools.join("kv-venv/bin/kubernetes-validate");
    assert!(
        bin.exists(),
        "kubernetes-validate is missing ({}): run scripts/deps.sh, which installs it",
        bin.display()
    );
    bin
}

/// Runs the validator on `files` for every version; the combined output, and whether all passed.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let mut ok = true;
    let mut output = String::new();
    for version in VERSIONS {
        let out = Command::new(validator())
            .args(["--strict", "--no-warn", "-k", version])
            .args(files)
            .output()
            .expect("running kubernetes-validate");
        ok &= out.status.success();
        output.push_str(&String::from_utf8_lossy(&out.stdout));
        output.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    (ok, output)
}

fn request(max_duration_secs: Option<u64>) -> LaunchRequest {
    LaunchRequest {
        bot_id: BotId::from(uuid::Uuid::new_v4()),
        server_url: "https://meetvault.example.com".into(),
        token: Token::generate(token::BOT_TOKEN),
        max_duration_secs,
    }
}

fn configs() -> Vec<KubernetesConfig> {
    let minimal = KubernetesConfig {
        image: "registry.example.com/meetvault:0.1.0".into(),
        ..KubernetesConfig::default()
    };
    let mut full = KubernetesConfig {
        namespace: "bots-prod".into(),
        image: "registry.example.com/team/meetvault@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
        image_pull_policy: PullPolicy::Always,
        program: "/usr/local/bin/meetvault".into(),
        service_account: Some("meetvault-bot".into()),
        cpu_request: "0.2".into(),
        cpu_limit: "2".into(),
        memory_request: "400M".into(),
        memory_limit: "2Gi".into(),
        run_as_user: 65532,
        ..minimal.clone()
    };
    full.node_selector
        .insert("example.com/pool".into(), "bots".into());
    full.labels.insert("team".into(), "meetings".into());
    full.labels
        .insert("example.com/cost-centre".into(), "".into());
    full.tolerations = vec![
        Toleration {
            key: Some("dedicated".into()),
            operator: TolerationOperator::Equal,
            value: Some("bots".into()),
            effect: Some(TaintEffect::NoSchedule),
        },
        Toleration {
            key: None,
            operator: TolerationOperator::Exists,
            value: None,
            effect: Some(TaintEffect::NoExecute),
        },
    ];
    vec![minimal, full]
}

fn write(dir: &Path, name: &str, value: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

#[test]
fn generated_pods_and_secrets_pass_the_kubernetes_schema_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, config) in configs().iter().enumerate() {
        for max in [None, Some(3600), Some(u64::MAX)] {
            let request = request(max);
            let (secret, pod) = pod_manifest(config, &request);
            let pod = serde_json::to_value(&pod).unwrap();
            let secret = serde_json::to_value(&secret).unwrap();
            // The token is in the secret and nowhere in the pod.
            let token = request.token.expose();
            assert!(
                !pod.to_string().contains(token),
                "the pod carries the token"
            );
            assert_eq!(secret["stringData"]["token"], token);
            let n = files.len();
            files.push(write(dir.path(), &format!("pod-{i}-{n}.json"), &pod));
            files.push(write(dir.path(), &format!("secret-{i}-{n}.json"), &secret));
        }
    }
    files.push(write(
        dir.path(),
        "role.json",
        &serde_json::to_value(role("bots-prod")).unwrap(),
    ));
    let (ok, output) = validate(&files);
    assert!(
        ok,
        "kubernetes-validate refused a generated object:\n{output}"
    );
}

#[test]
fn the_validator_refuses_a_misspelt_field_and_a_wrong_type() {
    // The control: the same check fails when the object is wrong, so a pass above means something.
    let dir = tempfile::tempdir().unwrap();
    let (_, pod) = pod_manifest(&configs()[0], &request(None));
    let mut misspelt = serde_json::to_value(&pod).unwrap();
    misspelt["spec"]["restartPolicyy"] = "Never".into();
    let mut wrong_type = serde_json::to_value(&pod).unwrap();
    wrong_type["spec"]["activeDeadlineSeconds"] = "an hour".into();
    for (name, value) in [("misspelt", misspelt), ("wrong-type", wrong_type)] {
        let file = write(dir.path(), &format!("{name}.json"), &value);
        let (ok, output) = validate(&[file]);
        assert!(!ok, "{name} passed the validator:\n{output}");
    }
}

fn docs() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/kubernetes.md"
    ))
    .unwrap()
}

/// The fenced blocks of `lang` in the page.
fn blocks(page: &str, lang: &str) -> Vec<String> {
    page.split(&format!("```{lang}\n"))
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_docs_rbac_yaml_passes_the_schema_and_grants_what_the_launcher_uses() {
    let page = docs();
    let yaml = blocks(&page, "yaml");
    assert!(!yaml.is_empty(), "docs/kubernetes.md has no yaml block");
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = yaml
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let path = dir.path().join(format!("doc-{i}.yaml"));
            std::fs::write(&path, y).unwrap();
            path
        })
        .collect();
    let (ok, output) = validate(&files);
    assert!(
        ok,
        "a YAML example in docs/kubernetes.md is invalid:\n{output}"
    );
    let all = yaml.concat();
    let rule = &role("x").rules.unwrap()[0];
    let verbs = format!("verbs: [{}]", quoted(&rule.verbs));
    let resources = format!(
        "resources: [{}]",
        quoted(rule.resources.as_deref().unwrap())
    );
    for line in [
        verbs,
        resources,
        "kind: Role".into(),
        "kind: RoleBinding".into(),
    ] {
        assert!(all.contains(&line), "the docs' RBAC lacks `{line}`");
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn the_docs_toml_example_loads_as_a_kubernetes_launcher() {
    let page = docs();
    let toml = blocks(&page, "toml");
    assert_eq!(toml.len(), 1, "one TOML example in docs/kubernetes.md");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meetvault.toml");
    std::fs::write(&file, &toml[0]).unwrap();
    let config = meetvault_config::load(
        &ConfigSource::File(file),
        std::iter::empty(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.bot.launcher, BotLauncher::Kubernetes);
    assert!(!config.bot.kubernetes.image.is_empty());
}
