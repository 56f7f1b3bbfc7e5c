//! `[bot.kubernetes]`: how the Kubernetes launcher (`bot.launcher = "kubernetes"`) builds a bot's
//! pod. Every name, label and quantity is checked here with the API server's own rules, so a
//! bad value is a config error naming its key, never a rejected pod at a bot's launch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Labels the launcher sets itself (and selects its pods by); `labels` may not set them.
pub const RESERVED_LABEL_PREFIXES: &[&str] = &["app.kubernetes.io/", "meetvault.dev/"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// The namespace bot pods and their token secrets are created in (the server's service
    /// account needs the Role in `docs/kubernetes.md` there).
    pub namespace: String,
    /// The container image holding `meetvault` and Chromium; required for this launcher.
    pub image: String,
    pub image_pull_policy: PullPolicy,
    /// The program in the image run as `PROGRAM bot run --bot-id … --server …`.
    pub program: String,
    /// The pods' service account; unset: the namespace's default (its token is never mounted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    /// The pods' user and group (numeric, never 0: the pod says `runAsNonRoot`).
    pub run_as_user: i64,
    /// The pod's deadline (`activeDeadlineSeconds`) when the bot sets no maximum duration, and
    /// the cap on it when it does (its maximum plus `deadline_grace_secs`).
    pub max_pod_secs: i64,
    /// Time beyond a bot's own maximum duration for joining, leaving and handing in its audio.
    pub deadline_grace_secs: i64,
    /// Seconds a stopped bot's pod gets between SIGTERM and SIGKILL.
    pub stop_grace_secs: i64,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    /// Extra labels on every bot pod and secret.
    pub labels: BTreeMap<String, String>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            namespace: "meetvault".to_owned(),
            image: String::new(),
            image_pull_policy: PullPolicy::IfNotPresent,
            program: "meetvault".to_owned(),
            service_account: None,
            // An audio-only bot measured ~0.15 core and ~300 MiB PSS (issue 16's targets).
            cpu_request: "150m".to_owned(),
            cpu_limit: "1".to_owned(),
            memory_request: "350Mi".to_owned(),
            memory_limit: "1Gi".to_owned(),
            run_as_user: 10001,
            max_pod_secs: 4 * 3600,
            deadline_grace_secs: 900,
            stop_grace_secs: 5,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// A pod toleration (`operator` `Exists` takes no `value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default = "equal")]
    pub operator: TolerationOperator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
}

fn equal() -> TolerationOperator {
    TolerationOperator::Equal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// Checks of `[bot.kubernetes]`; `required` when it is the launcher in use (the image must be set).
pub(crate) fn validate(k: &KubernetesConfig, required: bool) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: String| {
        Err(ConfigError::Invalid {
            key: format!("bot.kubernetes.{key}"),
            message,
        })
    };
    if !is_dns_label(&k.namespace) {
        return invalid("namespace", dns_label_rule());
    }
    if required && k.image.is_empty() {
        return invalid(
            "image",
            "the bot image is required when bot.launcher is \"kubernetes\"".to_owned(),
        );
    }
    if k.image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(
            "image",
            "must be an image reference without spaces".to_owned(),
        );
    }
    if k.program.is_empty() || k.program.chars().any(char::is_control) {
        return invalid("program", "must be a program name or path".to_owned());
    }
    if let Some(sa) = &k.service_account
        && !is_dns_subdomain(sa)
    {
        return invalid(
            "service_account",
            "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')".to_owned(),
        );
    }
    let mut amounts = [0.0; 4];
    for (i, (key, value)) in [
        ("cpu_request", &k.cpu_request),
        ("cpu_limit", &k.cpu_limit),
        ("memory_request", &k.memory_request),
        ("memory_limit", &k.memory_limit),
    ]
    .into_iter()
    .enumerate()
    {
        match quantity(value) {
            Some(v) if v > 0.0 => amounts[i] = v,
            _ => {
                return invalid(
                    key,
                    format!(
                        "{value:?} is not a positive Kubernetes quantity (e.g. 150m, 1, 350Mi, 1Gi)"
                    ),
                );
            }
        }
    }
    if amounts[0] > amounts[1] {
        return invalid("cpu_request", "must not exceed cpu_limit".to_owned());
    }
    if amounts[2] > amounts[3] {
        return invalid("memory_request", "must not exceed memory_limit".to_owned());
    }
    if k.run_as_user <= 0 {
        return invalid(
            "run_as_user",
            "must be a user id above 0 (bot pods never run as root)".to_owned(),
        );
    }
    if k.max_pod_secs <= 0 || k.deadline_grace_secs < 0 || k.stop_grace_secs < 0 {
        return invalid(
            "max_pod_secs",
            "max_pod_secs must be positive; deadline_grace_secs and stop_grace_secs at least 0"
                .to_owned(),
        );
    }
    for (name, map) in [("node_selector", &k.node_selector), ("labels", &k.labels)] {
        for (key, value) in map {
            if let Err(why) = label_key(key) {
                return invalid(name, format!("key {key:?}: {why}"));
            }
            if !is_label_value(value) {
                return invalid(
                    name,
                    format!(
                        "value {value:?} of {key:?}: at most 63 letters, digits, '-', '_' or '.', \
                         beginning and ending with a letter or digit"
                    ),
                );
            }
        }
    }
    if let Some(key) = k
        .labels
        .keys()
        .find(|key| RESERVED_LABEL_PREFIXES.iter().any(|p| key.starts_with(p)))
    {
        return invalid(
            "labels",
            format!("{key:?} is set by the launcher itself (app.kubernetes.io/…, meetvault.dev/…)"),
        );
    }
    for (i, t) in k.tolerations.iter().enumerate() {
        if let Some(key) = &t.key
            && let Err(why) = label_key(key)
        {
            return invalid(&format!("tolerations[{i}].key"), why);
        }
        match (t.operator, &t.value) {
            (TolerationOperator::Exists, Some(_)) => {
                return invalid(
                    &format!("tolerations[{i}].value"),
                    "must be unset when operator is Exists".to_owned(),
                );
            }
            (TolerationOperator::Equal, None) if t.key.is_none() => {
                return invalid(
                    &format!("tolerations[{i}].key"),
                    "an Equal toleration needs a key (or use operator Exists)".to_owned(),
                );
            }
            (_, Some(v)) if !is_label_value(v) => {
                return invalid(
                    &format!("tolerations[{i}].value"),
                    "must be a valid label value".to_owned(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn dns_label_rule() -> String {
    "must be a DNS-1123 label: at most 63 lowercase letters, digits or '-', beginning and \
     ending with a letter or digit"
        .to_owned()
}

/// RFC 1123 label as Kubernetes reads it (namespaces, pod names' parts).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// A label value: empty, or a label name.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_label_name(s)
}

/// A label (or taint) key: an optional DNS subdomain prefix and `/`, then a name.
fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if prefix.is_some_and(|p| !is_dns_subdomain(p)) {
        return Err("its prefix (before '/') must be a DNS-1123 subdomain".to_owned());
    }
    if !is_label_name(name) {
        return Err(
            "its name must be at most 63 letters, digits, '-', '_' or '.', beginning and ending \
             with a letter or digit"
                .to_owned(),
        );
    }
    Ok(())
}

/// A Kubernetes quantity (`150m`, `1.5`, `350Mi`, `1e3`) in base units; `None` when malformed.
pub fn quantity(s: &str) -> Option<f64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number = number.strip_prefix('+').unwrap_or(number);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    if !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        e => {
            let exp = e.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            10f64.powi(exp.parse().ok()?)
        }
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(edit: impl FnOnce(&mut KubernetesConfig)) -> Result<(), String> {
        let mut k = KubernetesConfig {
            image: "registry.example/meetvault:1".to_owned(),
            ..KubernetesConfig::default()
        };
        edit(&mut k);
        validate(&k, true).map_err(|e| e.to_string())
    }

    #[test]
    fn the_defaults_with_an_image_are_valid_and_the_image_is_required() {
        check(|_| {}).unwrap();
        let e = check(|k| k.image.clear()).unwrap_err();
        assert!(e.contains("bot.kubernetes.image"), "{e}");
        validate(&KubernetesConfig::default(), false).unwrap();
    }

    type Edit = Box<dyn FnOnce(&mut KubernetesConfig)>;

    #[test]
    fn hostile_names_labels_and_quantities_are_rejected_naming_the_key() {
        let cases: Vec<(&str, Edit)> = vec![
            ("namespace", Box::new(|k| k.namespace = "Bots".into())),
            (
                "namespace",
                Box::new(|k| k.namespace = "../kube-system".into()),
            ),
            ("namespace", Box::new(|k| k.namespace = "a".repeat(64))),
            ("namespace", Box::new(|k| k.namespace = "-bots".into())),
            ("image", Box::new(|k| k.image = "img\nevil: 1".into())),
            (
                "service_account",
                Box::new(|k| k.service_account = Some("Root!".into())),
            ),
            ("cpu_request", Box::new(|k| k.cpu_request = "lots".into())),
            ("cpu_request", Box::new(|k| k.cpu_request = "2".into())),
            ("memory_limit", Box::new(|k| k.memory_limit = "1GB".into())),
            (
                "memory_request",
                Box::new(|k| k.memory_request = "-1Mi".into()),
            ),
            ("run_as_user", Box::new(|k| k.run_as_user = 0)),
            (
                "labels",
                Box::new(|k| {
                    k.labels.insert("team".into(), "a b".into());
                }),
            ),
            (
                "labels",
                Box::new(|k| {
                    k.labels.insert("bad key!".into(), "x".into());
                }),
            ),
            (
                "labels",
                Box::new(|k| {
                    k.labels.insert("app.kubernetes.io/name".into(), "x".into());
                }),
            ),
            (
                "node_selector",
                Box::new(|k| {
                    k.node_selector
                        .insert("Example.com/pool".into(), "bots".into());
                }),
            ),
            (
                "tolerations[0].value",
                Box::new(|k| {
                    k.tolerations.push(Toleration {
                        key: Some("dedicated".into()),
                        operator: TolerationOperator::Exists,
                        value: Some("bots".into()),
                        effect: None,
                    })
                }),
            ),
        ];
        for (key, edit) in cases {
            let e = check(edit).unwrap_err();
            assert!(e.contains(&format!("bot.kubernetes.{key}")), "{key}: {e}");
        }
    }

    #[test]
    fn the_kubernetes_launcher_needs_the_url_pods_reach_the_server_at() {
        let mut bot = crate::BotConfig {
            launcher: crate::BotLauncher::Kubernetes,
            ..crate::BotConfig::default()
        };
        bot.kubernetes.image = "registry.example/meetvault:1".into();
        let e = crate::bot::validate(&bot).unwrap_err().to_string();
        assert!(e.contains("bot.server_url"), "{e}");
        bot.server_url = Some("http://meetvault.svc:8080".parse().unwrap());
        crate::bot::validate(&bot).unwrap();
        bot.kubernetes.image.clear();
        let e = crate::bot::validate(&bot).unwrap_err().to_string();
        assert!(e.contains("bot.kubernetes.image"), "{e}");
    }

    #[test]
    fn quantities_read_as_kubernetes_reads_them() {
        assert_eq!(quantity("150m"), Some(0.15));
        assert_eq!(quantity("1"), Some(1.0));
        assert_eq!(quantity("350Mi"), Some(350.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity(".5"), Some(0.5));
        for bad in ["", "m", "1.2.3", "1GB", "-1", "1 Gi", "e3", "1e"] {
            assert_eq!(quantity(bad), None, "{bad}");
        }
    }
}
