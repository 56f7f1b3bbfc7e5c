//! Who signs checkpoints, and when: only the writer side. Every `audit.checkpoint_every`-th entry
//! signs one as it is appended, and the [`AuditWriter`] task signs one every
//! `audit.checkpoint_interval_secs` when the log has grown, and once at start and at shutdown.
//! Reads (the public checkpoint, proofs, exports) return the latest stored checkpoint and never
//! sign, so no request can make the server write. The same task closes refusal windows.

use std::time::{Duration, Instant};

use chrono::Utc;
use meetvault_crypto::merkle;
use meetvault_crypto::note::Checkpoint;
use meetvault_store::CheckpointRow;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Core, CoreError};

/// How often the writer task closes refusal windows and looks at the checkpoint clock.
const TICK: Duration = Duration::from_secs(1);

impl Core {
    /// Signs a checkpoint at the current size unless the latest already covers it (on a fresh
    /// log: the empty tree). Writer side only: appends, the [`AuditWriter`] task.
    pub(crate) async fn sign_checkpoint_if_grown(&self) -> Result<(), CoreError> {
        let size = self.db().audit_size().await?;
        if let Some(latest) = self.db().latest_checkpoint().await?
            && latest.tree_size >= size
        {
            return Ok(());
        }
        let leaves = self.leaves(size).await?;
        let root = merkle::root(&leaves);
        let cp = Checkpoint {
            origin: self.signer().origin().to_owned(),
            size: u64::try_from(size).unwrap_or(0),
            root,
            extensions: Vec::new(),
        };
        let note = self
            .signer()
            .sign(&cp.to_text())
            .map_err(CoreError::internal)?;
        let row = CheckpointRow {
            tree_size: size,
            root_hash: root.to_vec(),
            note,
            created_at: Utc::now(),
        };
        self.db().insert_checkpoint(&row).await?;
        tracing::info!(tree_size = size, "audit checkpoint signed");
        Ok(())
    }

    /// The answer for an entry (or a log) no signed checkpoint covers yet: when to ask again.
    pub(crate) fn not_checkpointed_yet(&self) -> CoreError {
        CoreError::NotCheckpointedYet {
            retry_after_secs: self.config().audit.checkpoint_interval_secs,
        }
    }

    /// Starts the audit writer of a serving instance: signs a checkpoint now if the log grew
    /// while it was down, then runs the periodic signer and the refusal flusher. Stop it with
    /// [`AuditWriter::shutdown`] before closing the stores.
    pub async fn start_audit_writer(&self) -> AuditWriter {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let core = self.clone();
        let interval = Duration::from_secs(core.config().audit.checkpoint_interval_secs);
        let task = tokio::spawn(async move {
            // In the task, not before it: serving must not wait on a database that is busy
            // (or locked by another writer) at start.
            if let Err(e) = core.sign_checkpoint_if_grown().await {
                tracing::error!(error = %e, "signing the audit checkpoint at start failed");
            }
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut signed = Instant::now();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => break,
                }
                core.flush_refusals(false).await;
                if signed.elapsed() >= interval {
                    signed = Instant::now();
                    if let Err(e) = core.sign_checkpoint_if_grown().await {
                        tracing::error!(error = %e, "signing the periodic audit checkpoint failed");
                    }
                }
            }
        });
        AuditWriter {
            core: self.clone(),
            stop,
            task,
        }
    }
}

impl super::AuditLog<'_> {
    /// The latest signed checkpoint, as stored. Never signs.
    pub async fn latest_checkpoint(self) -> Result<CheckpointRow, CoreError> {
        self.core
            .db()
            .latest_checkpoint()
            .await?
            .ok_or_else(|| self.core.not_checkpointed_yet())
    }
}

/// The running audit writer task of one instance.
#[derive(Debug)]
pub struct AuditWriter {
    core: Core,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl AuditWriter {
    /// Stops the task, writes the summaries of every open refusal window and signs a final
    /// checkpoint, so nothing counted is lost and every entry is covered.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the audit writer task failed");
        }
        self.core.flush_refusals(true).await;
        if let Err(e) = self.core.sign_checkpoint_if_grown().await {
            tracing::error!(error = %e, "signing the final audit checkpoint failed");
        }
    }
}
