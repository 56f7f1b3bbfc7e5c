//! A bot's pod and its token secret as typed Kubernetes objects, built from `[bot.kubernetes]`
//! and the launch request alone (pure functions: the tests serialize them and hold them to the
//! Kubernetes schema). The token is only ever in the secret; the pod names it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, Pod, PodSecurityContext,
    PodSpec, ResourceRequirements, SeccompProfile, Secret, SecretKeySelector, SecurityContext,
    Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use meetvault_config::{KubernetesConfig, TolerationOperator};
use meetvault_core::bots::LaunchRequest;
use meetvault_core::ids::BotId;

/// The label every bot pod and secret carries; the launcher watches pods by it.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "meetvault");
/// The label naming the bot (its UUID) on its pod and secret.
pub const BOT_ID_LABEL: &str = "meetvault.dev/bot-id";
/// The key of the token in a bot's secret.
pub const TOKEN_KEY: &str = "token";
/// The container's name in a bot pod.
pub const CONTAINER: &str = "bot";

/// The label selector of the pods this launcher made.
pub fn selector() -> String {
    format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)
}

/// The bot's pod name: `meetvault-bot-` and its UUID (lowercase hex and dashes, 50 characters,
/// a DNS-1123 label whatever the id).
pub fn pod_name(bot: BotId) -> String {
    format!("meetvault-bot-{}", bot.uuid().hyphenated())
}

/// The name of the secret holding the bot's token.
pub fn secret_name(bot: BotId) -> String {
    format!("{}-token", pod_name(bot))
}

/// How long the pod may run (`activeDeadlineSeconds`): the bot's maximum duration and the
/// grace beyond it, at most `max_pod_secs`; `max_pod_secs` when the bot sets none.
pub fn active_deadline(config: &KubernetesConfig, max_duration_secs: Option<u64>) -> i64 {
    match max_duration_secs {
        Some(max) => i64::try_from(max)
            .unwrap_or(i64::MAX)
            .saturating_add(config.deadline_grace_secs)
            .min(config.max_pod_secs),
        None => config.max_pod_secs,
    }
}

fn labels(config: &KubernetesConfig, bot: BotId) -> BTreeMap<String, String> {
    let mut labels = config.labels.clone();
    labels.insert("app.kubernetes.io/name".into(), "meetvault-bot".into());
    labels.insert("app.kubernetes.io/component".into(), "bot".into());
    labels.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    labels.insert(BOT_ID_LABEL.into(), bot.uuid().hyphenated().to_string());
    labels
}

/// The bot's token secret and its pod, ready to create (the secret gets its owner, the pod,
/// with [`owned_by`] once the pod exists).
pub fn pod_manifest(config: &KubernetesConfig, request: &LaunchRequest) -> (Secret, Pod) {
    let bot = request.bot_id;
    let meta = |name: String| ObjectMeta {
        name: Some(name),
        namespace: Some(config.namespace.clone()),
        labels: Some(labels(config, bot)),
        ..ObjectMeta::default()
    };
    let secret = Secret {
        metadata: meta(secret_name(bot)),
        type_: Some("Opaque".into()),
        immutable: Some(true),
        string_data: Some(BTreeMap::from([(
            TOKEN_KEY.to_owned(),
            request.token.expose().to_owned(),
        )])),
        ..Secret::default()
    };
    let quantity = |s: &str| Quantity(s.to_owned());
    let container = Container {
        name: CONTAINER.into(),
        image: Some(config.image.clone()),
        image_pull_policy: Some(config.image_pull_policy.as_str().into()),
        command: Some(vec![
            config.program.clone(),
            "bot".into(),
            "run".into(),
            "--bot-id".into(),
            bot.to_string(),
            "--server".into(),
            request.server_url.clone(),
        ]),
        env: Some(vec![
            EnvVar {
                name: "MEETVAULT_BOT_TOKEN".into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret_name(bot),
                        key: TOKEN_KEY.into(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
            // Chromium writes its profile and caches under HOME: the writable emptyDir.
            EnvVar {
                name: "HOME".into(),
                value: Some("/tmp".into()),
                ..EnvVar::default()
            },
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), quantity(&config.cpu_request)),
                ("memory".to_owned(), quantity(&config.memory_request)),
            ])),
            limits: Some(BTreeMap::from([
                ("cpu".to_owned(), quantity(&config.cpu_limit)),
                ("memory".to_owned(), quantity(&config.memory_limit)),
            ])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "dshm".into(),
                mount_path: "/dev/shm".into(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    };
    let spec = PodSpec {
        restart_policy: Some("Never".into()),
        active_deadline_seconds: Some(active_deadline(config, request.max_duration_secs)),
        termination_grace_period_seconds: Some(config.stop_grace_secs),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        service_account_name: config.service_account.clone(),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(config.run_as_user),
            run_as_group: Some(config.run_as_user),
            fs_group: Some(config.run_as_user),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        node_selector: (!config.node_selector.is_empty()).then(|| config.node_selector.clone()),
        tolerations: (!config.tolerations.is_empty()).then(|| {
            config
                .tolerations
                .iter()
                .map(|t| Toleration {
                    key: t.key.clone(),
                    operator: Some(
                        match t.operator {
                            TolerationOperator::Equal => "Equal",
                            TolerationOperator::Exists => "Exists",
                        }
                        .into(),
                    ),
                    value: t.value.clone(),
                    effect: t.effect.map(|e| format!("{e:?}")),
                    ..Toleration::default()
                })
                .collect()
        }),
        containers: vec![container],
        volumes: Some(vec![
            Volume {
                name: "tmp".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(quantity("1Gi")),
                    ..EmptyDirVolumeSource::default()
                }),
                ..Volume::default()
            },
            // Chromium's shared memory; the runtime's default /dev/shm (64 MiB) is too small.
            Volume {
                name: "dshm".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: Some("Memory".into()),
                    size_limit: Some(quantity("256Mi")),
                }),
                ..Volume::default()
            },
        ]),
        ..PodSpec::default()
    };
    let pod = Pod {
        metadata: meta(pod_name(bot)),
        spec: Some(spec),
        status: None,
    };
    (secret, pod)
}

/// The secret, owned by the pod the API server created (so deleting the pod deletes it);
/// `None` when the pod came back without a name or uid.
pub fn owned_by(mut secret: Secret, pod: &Pod) -> Option<Secret> {
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: pod.metadata.name.clone()?,
        uid: pod.metadata.uid.clone()?,
        ..OwnerReference::default()
    };
    secret.metadata.owner_references = Some(vec![owner]);
    Some(secret)
}

/// The Role the server's service account needs in `namespace`: create, read, watch and delete
/// pods and secrets (bind it with a RoleBinding; `docs/kubernetes.md` shows both).
pub fn role(namespace: &str) -> Role {
    Role {
        metadata: ObjectMeta {
            name: Some("meetvault-bot-launcher".into()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".into(), "secrets".into()]),
            verbs: ["create", "get", "list", "watch", "delete"]
                .map(String::from)
                .to_vec(),
            ..PolicyRule::default()
        }]),
    }
}
