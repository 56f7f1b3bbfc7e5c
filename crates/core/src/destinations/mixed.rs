//! A bot's mixed recording streamed into its destination while it records, like each track
//! (`stream.rs`): one multipart upload of the WAV it will become, part 1 (the header) sent
//! last. The mix is built by the rule the recording is built by at the end (`bots/mix.rs`),
//! up to the point no chunk still to come can change, so the parts already sent are the
//! file's own bytes; when they are not (a chunk landed in the past after all), the delivery
//! at the end notices by their SHA-256 and uploads the file whole.
//!
//! A participant who opts out has their audio in the parts sent: the upload is aborted
//! (`forget_bot_track`), and the next chunk starts another, without them, from the beginning.
//! The mix is read from every track's chunks, so a step runs at most every [`EVERY`] per bot,
//! and once more after the last chunk that asked for one.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use meetvault_store::bots::BotRow;

use super::stream::{PART, RETRY_AFTER_MS, WAV_HEADER, offset};
use crate::bots::{MIXED, Timeline};
use crate::{Core, CoreError};

/// The least time between two of a bot's mix steps.
const EVERY: Duration = Duration::from_secs(2);

/// When a bot's mix last stepped, and whether a step is waiting to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    last: Instant,
    waiting: bool,
}

impl Core {
    /// After a chunk was stored: streams the next parts of the bot's mix (if it asked for one)
    /// in the background, soon.
    pub(crate) fn stream_mix(&self, bot: &BotRow) {
        let options: crate::bots::BotOptions =
            serde_json::from_str(&bot.options).unwrap_or_default();
        if !options.recording.mixed {
            return;
        }
        let wait = {
            let mut pace = self.inner.bucket_streams.pace();
            let now = Instant::now();
            let p = pace.entry(bot.id).or_insert(Pace {
                last: now.checked_sub(EVERY).unwrap_or(now),
                waiting: false,
            });
            if p.waiting {
                // That one will see this chunk.
                return;
            }
            p.waiting = true;
            (p.last + EVERY).saturating_duration_since(now)
        };
        let core = self.clone();
        let bot = bot.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Some(p) = core.inner.bucket_streams.pace().get_mut(&bot.id) {
                // A chunk stored from now on asks for another step.
                p.waiting = false;
                p.last = Instant::now();
            }
            let lock = core.inner.bucket_streams.lock_for(bot.id, MIXED);
            let _one = lock.lock().await;
            if let Err(e) = core.mix_step(&bot).await {
                tracing::warn!(bot = %crate::ids::BotId::from(bot.id), error = %e, "streaming the mix to its destination");
            }
        });
    }

    /// Creates the mix's upload if it has none (again, after an opt-out aborted it), then
    /// sends every whole part of the settled mix past what was sent.
    async fn mix_step(&self, bot: &BotRow) -> Result<(), CoreError> {
        let org = bot.org_id;
        let mut existing = self.db().bucket_upload(org, bot.id, MIXED).await?;
        if let Some(up) = &existing {
            let now = meetvault_jobs::now_ms();
            if up.state == "aborted" && self.still_recording(bot).await? {
                // An opt-out aborted it: another starts, without their audio.
                self.db().delete_aborted_bucket_upload(org, up.id).await?;
                existing = None;
            } else if (up.state != "creating" && up.state != "open")
                || up.error_at.is_some_and(|at| now - at < RETRY_AFTER_MS)
            {
                return Ok(());
            }
        }
        if existing.is_none() && self.bot_destination(bot).await?.is_none() {
            return Ok(());
        }
        let skip = self
            .db()
            .bot_tracks(org, bot.id)
            .await?
            .into_iter()
            .filter(|t| t.opted_out_at.is_some())
            .map(|t| t.track)
            .collect();
        let timeline = Timeline::of(self.db().audio_chunks(org, bot.id).await?, &skip);
        let end = offset(WAV_HEADER) + 2 * timeline.settled();
        let sent = existing.as_ref().map_or(PART, |u| offset(u.sent));
        if end <= sent + PART {
            return Ok(());
        }
        let mut up = match existing {
            Some(up) => up,
            None => match self.new_track_upload(bot, MIXED).await? {
                Some(up) => up,
                None => return Ok(()),
            },
        };
        let Some(mut sending) = self.open_upload(bot, &mut up).await? else {
            return Ok(());
        };
        // Chunks opened once per step, dropped once behind what was sent.
        let mut open: BTreeMap<(String, i64), Vec<u8>> = BTreeMap::new();
        while offset(up.sent) + PART < end {
            // WAV bytes [sent, sent + PART) are mix samples [from, to).
            let from = (offset(up.sent) - offset(WAV_HEADER)) / 2;
            let to = from + PART / 2;
            for p in timeline.overlapping(from, to) {
                let id = (p.row.track.clone(), p.row.seq);
                if let std::collections::btree_map::Entry::Vacant(e) = open.entry(id) {
                    e.insert(self.open_audio_chunk(&sending.keys, &p.row).await?);
                }
            }
            let plain = timeline.mix(from, to, |p| {
                open.get(&(p.row.track.clone(), p.row.seq))
                    .map(Vec::as_slice)
            });
            if !self.send_part(&mut sending, &mut up, plain, None).await? {
                return Ok(());
            }
            let kept: Vec<(String, i64)> = timeline
                .overlapping(to, usize::MAX)
                .map(|p| (p.row.track.clone(), p.row.seq))
                .collect();
            open.retain(|id, _| kept.contains(id));
        }
        Ok(())
    }

    /// Whether the bot is still capturing (not ending or ended).
    async fn still_recording(&self, bot: &BotRow) -> Result<bool, CoreError> {
        let Some(row) = self.db().bot(bot.org_id, bot.id).await? else {
            return Ok(false);
        };
        let state = crate::bots::state_of(&row)?;
        Ok(!state.is_terminal() && state != crate::bots::state::BotState::PostProcessing)
    }
}
