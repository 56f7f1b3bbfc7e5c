//! `meetvault keys …`: master-key and org-key rotation, with a progress bar (hidden with
//! `--json` or when stderr is not a terminal). Both re-wrap keys only; no content is
//! re-encrypted, and an interrupted run is finished by running it again.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Subcommand;
use meetvault_config::{Config, KeyProvider};
use meetvault_core::Core;
use meetvault_core::ids::OrgId;
use meetvault_core::vault::{
    RotationReport, begin_local_master_rotation, finish_local_master_rotation,
};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-wrap every org key under a new master key version (local provider: a new version is
    /// added to the key file, and the old one removed once nothing uses it; aws-kms: under
    /// `keys.aws_kms.key_id`). Restart running servers afterwards.
    RotateMaster {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rotate org keys: a new version per org, every user key re-wrapped under it, the old
    /// version deleted.
    RotateOrg {
        /// The org (`org_…`); or `--all`.
        #[arg(
            long,
            value_name = "ORG",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        org: Option<String>,
        /// Every org.
        #[arg(long)]
        all: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn progress_bar(json: bool, what: &'static str) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

fn print(
    json: bool,
    what: &str,
    report: &RotationReport,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(report)?;
        if let (Some(map), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
            map.extend(more);
        }
        println!("{value}");
    } else {
        println!(
            "{what}: {} key(s) re-wrapped, {} already current, {} old version(s) deleted",
            report.rewrapped, report.already_current, report.retired
        );
    }
    Ok(())
}

pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::RotateMaster { json } => {
            let local = config.keys.provider == KeyProvider::Local;
            let versions = if local {
                begin_local_master_rotation(&config)?
            } else {
                Vec::new()
            };
            let core = Core::open(Arc::new(config.clone()))
                .await
                .context("opening storage")?;
            let bar = progress_bar(json, "re-wrapping org keys");
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let result = core.encryption().rotate_master(&progress).await;
            bar.finish_and_clear();
            core.close().await;
            let mut report =
                result.context("re-wrapping org keys (run the command again to resume)")?;
            if local {
                finish_local_master_rotation(&config)?;
                report.retired = versions.len().saturating_sub(1) as u64;
            }
            print(
                json,
                "master key rotated",
                &report,
                serde_json::json!({ "provider": config.keys.provider }),
            )
        }
        KeysCommand::RotateOrg { org, all, json } => {
            let core = Core::open(Arc::new(config))
                .await
                .context("opening storage")?;
            let orgs = if all {
                core.encryption().orgs_with_keys().await?
            } else {
                let id: OrgId = org
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--org: {e}"))?;
                vec![id]
            };
            let mut total = RotationReport::default();
            for org in orgs {
                let bar = progress_bar(json, "re-wrapping user keys");
                let progress = |done: u64, n: u64| {
                    bar.set_length(n);
                    bar.set_position(done);
                };
                let report = core
                    .encryption()
                    .rotate_org_key(org, &progress)
                    .await
                    .with_context(|| {
                        format!("rotating the key of {org} (run the command again to resume)")
                    })?;
                bar.finish_and_clear();
                total.rewrapped += report.rewrapped;
                total.already_current += report.already_current;
                total.retired += report.retired;
            }
            core.close().await;
            print(json, "org keys rotated", &total, serde_json::json!({}))
        }
    }
}
