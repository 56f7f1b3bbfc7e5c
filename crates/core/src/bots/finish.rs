//! How a bot's run ends. Once a bot is done — `ended` or `fatal_error`, or `post_processing`
//! when it reported its own end from inside the meeting — its token stops working, its process
//! is stopped (at once when the server ended it; after a grace period for cleaning up its
//! browser profile when the bot reported it) and what it captured becomes recordings of its
//! meeting. From `post_processing` the server then writes `ended` with the same sub-code.
//! One processing run per bot at a time on this instance; a bot left in `post_processing` by a
//! restart is picked up again by the orchestrator.

use std::collections::HashSet;
use std::sync::Mutex;

use meetvault_store::bots::BotRow;
use uuid::Uuid;

use super::{BotState, SubCode, Transition, state_of};
use crate::access::Actor;
use crate::ids::BotId;
use crate::{Core, CoreError};

/// How long a bot that reported its own end may take to clean up (its browser profile) before
/// its process group is killed.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// The bots whose captured audio this instance is processing now.
#[derive(Debug, Default)]
pub(crate) struct Processing(Mutex<HashSet<Uuid>>);

impl Processing {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// False if it was being processed already.
    fn start(&self, bot: Uuid) -> bool {
        self.set().insert(bot)
    }

    fn done(&self, bot: Uuid) {
        self.set().remove(&bot);
    }

    pub(crate) fn contains(&self, bot: Uuid) -> bool {
        self.set().contains(&bot)
    }
}

impl Core {
    /// What follows a written transition: nothing, unless the bot is now done.
    pub(super) fn after_bot_transition(&self, bot: &BotRow, t: &Transition, reported_by_bot: bool) {
        // Out of post_processing: its processing ran already (or is running).
        if !t.to().is_done() || t.from() == BotState::PostProcessing {
            return;
        }
        let id = BotId::from(bot.id);
        if reported_by_bot {
            let core = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(STOP_GRACE).await;
                core.inner.bots.launcher().stop(id);
            });
        } else {
            self.inner.bots.launcher().stop(id);
        }
        let then_end = (t.to() == BotState::PostProcessing).then(|| t.sub_code().cloned());
        // The meeting is over for this bot: its rolling summary is no longer kept here.
        self.inner.live_summaries.forget_meeting(bot.meeting_id);
        self.spawn_bot_processing(bot.clone(), then_end);
    }

    /// Processes what the bot captured in the background; then, if `then_end` is given, moves
    /// it from `post_processing` to `ended` with that sub-code.
    pub(super) fn spawn_bot_processing(&self, bot: BotRow, then_end: Option<Option<SubCode>>) {
        if !self.inner.bots.processing.start(bot.id) {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move {
            let id = BotId::from(bot.id);
            if let Err(e) = core.process_bot_audio(&bot).await {
                tracing::error!(bot = %id, error = %e, "processing a bot's captured audio failed");
            }
            if let Some(sub_code) = then_end
                && let Err(e) = core.end_post_processing(bot.id, sub_code).await
            {
                tracing::error!(bot = %id, error = %e, "ending a bot after post-processing failed");
            }
            core.inner.bots.processing.done(bot.id);
            // The meeting is over: its ephemeral documents go (the sweeper's expiry is the
            // backstop if this is cut off).
            if let Err(e) = core.end_meeting_documents(bot.org_id, bot.meeting_id).await {
                tracing::warn!(bot = %id, error = %e, "deleting an ended meeting's documents");
            }
            // A delivery that finished while this ran left the chunks (and, before the bot
            // ended, the copies) for now.
            if let Err(e) = core
                .purge_delivered_copies(bot.org_id, bot.meeting_id)
                .await
            {
                tracing::warn!(bot = %id, error = %e, "deleting a delivered bot's copies here");
            }
        });
    }

    async fn end_post_processing(
        &self,
        bot_id: Uuid,
        sub_code: Option<SubCode>,
    ) -> Result<(), CoreError> {
        let Some(row) = self.db().bot_by_id(bot_id).await? else {
            return Ok(());
        };
        if state_of(&row)? != BotState::PostProcessing {
            return Ok(());
        }
        let t = Transition::new(BotState::PostProcessing, BotState::Ended, sub_code)
            .map_err(|e| CoreError::Integrity(e.to_string()))?;
        self.record_bot_transition(&row, &t, Actor::System, false)
            .await?;
        Ok(())
    }

    /// A bot found in `post_processing` that nobody here processes (a restart cut it off):
    /// processed again, then ended.
    pub(super) fn resume_post_processing(&self, bot: &BotRow) {
        if self.inner.bots.processing.contains(bot.id) {
            return;
        }
        let sub_code = bot.sub_code.as_deref().and_then(SubCode::parse);
        self.spawn_bot_processing(bot.clone(), Some(sub_code));
    }
}
