//! Live transcription of a bot's audio during the meeting. Each chunk a bot in the meeting
//! sends is handed (after it is sealed and stored) to its track's transcriber: a task per
//! (bot, track), in memory only, that finds finished utterances (`utterances.rs`), transcribes
//! each once with the local engine — greedy, no temperature fallback, on the live permits
//! ahead of jobs (`transcription/engine.rs`) — and appends a `segment.live` event, sealed like
//! every segment, to the bot's meeting stream. Emitted text is never revised; the final
//! transcript is made from the stored chunks when the bot ends, so a restart loses only live
//! state. A track that spoke again while its last utterance waited for the engine has its
//! waiting utterances transcribed together, one window for several, so a busy machine falls
//! behind less.
//!
//! Bounded: at most [`MAX_TRACKS`] transcribers, each holding at most [`QUEUE`] chunks and an
//! utterance of at most `utterances::MAX_SECS`; beyond that chunks are not transcribed live
//! (they are stored all the same). A transcriber with nothing to do for [`IDLE_EXIT`] ends.

use std::collections::{HashMap, VecDeque};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use meetvault_store::bots::BotRow;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::utterances::{Batch, Segmenter, Utterance};
use super::{BotOptions, BotState, state_of};
use crate::events::{DomainEvent, LIVE_SEGMENT, LiveTiming, SegmentWords, outbox_event};
use crate::transcription::decode_options;
use crate::{Core, CoreError};

/// Live transcribers at once, across all bots.
pub(crate) const MAX_TRACKS: usize = 64;
/// Chunks waiting for a transcriber (about two minutes of 2-s chunks).
pub(crate) const QUEUE: usize = 64;
/// A track that sends nothing this long has said what it was saying.
const IDLE_FLUSH: Duration = Duration::from_millis(2500);
/// A transcriber idle this long ends (the next chunk starts another).
const IDLE_EXIT: Duration = Duration::from_secs(60);
/// How long dropping a track waits for its transcriber to stop before aborting it.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// How long a dropped track stays refused.
const DROPPED_FOR: Duration = Duration::from_secs(24 * 3600);

struct Chunk {
    start_ms: i64,
    pcm: Bytes,
}

enum Slot {
    Live {
        tx: mpsc::Sender<Chunk>,
        stop: Arc<AtomicBool>,
        task: JoinHandle<()>,
    },
    /// Dropped (the participant opted out): never transcribed again.
    Dropped(Instant),
}

/// This instance's live transcribers (`Core`'s, in memory).
#[derive(Default)]
pub(crate) struct LiveHub {
    slots: Mutex<HashMap<(Uuid, String), Slot>>,
}

impl LiveHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.slots.lock().map_or(0, |s| s.len());
        f.debug_struct("LiveHub").field("tracks", &n).finish()
    }
}

/// What a transcriber knows of its bot (no content).
#[derive(Debug, Clone)]
struct TrackCtx {
    bot: Uuid,
    org: Uuid,
    meeting: Uuid,
    owner: Uuid,
    language: Option<String>,
    track: String,
    stop: Arc<AtomicBool>,
}

impl Core {
    /// Hands a stored chunk to its track's live transcriber (starting one if needed), when
    /// live transcription is on and the bot is in the meeting. Never fails: live text is a
    /// best effort beside the stored audio.
    pub(crate) fn feed_live(&self, bot: &BotRow, track: &str, start_ms: i64, pcm: Bytes) {
        if !self.config().transcription.live
            || !matches!(state_of(bot), Ok(BotState::Joined | BotState::Recording))
        {
            return;
        }
        let mut slots = self.inner.live.lock();
        let key = (bot.id, track.to_owned());
        let chunk = Chunk { start_ms, pcm };
        let chunk = match slots.get(&key) {
            Some(Slot::Dropped(_)) => return,
            Some(Slot::Live { tx, .. }) => match tx.try_send(chunk) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(bot_id = %bot.id, "live transcription is behind: a chunk is not transcribed live");
                    return;
                }
                // The transcriber ended (idle): start another.
                Err(mpsc::error::TrySendError::Closed(chunk)) => chunk,
            },
            None => chunk,
        };
        slots.retain(|_, s| match s {
            Slot::Live { tx, .. } => !tx.is_closed(),
            Slot::Dropped(at) => at.elapsed() < DROPPED_FOR,
        });
        if slots.len() >= MAX_TRACKS {
            tracing::warn!(bot_id = %bot.id, "too many live tracks: this one is not transcribed live");
            return;
        }
        let options: BotOptions = serde_json::from_str(&bot.options).unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = TrackCtx {
            bot: bot.id,
            org: bot.org_id,
            meeting: bot.meeting_id,
            owner: bot.owner_id,
            language: options.language,
            track: track.to_owned(),
            stop: stop.clone(),
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let _ = tx.try_send(chunk);
        let task = tokio::spawn(self.clone().transcribe_track(ctx, rx));
        slots.insert(key, Slot::Live { tx, stop, task });
    }

    /// Stops a track's live transcription for good (its participant opted out) and deletes
    /// the live segments it put on the meeting's stream; returns how many. A listener that was
    /// connected has seen them; a stream read from now on (or resumed) does not. The final
    /// transcript is the caller's to keep from that track.
    #[allow(
        dead_code,
        reason = "the opt-out path calls it (issue 16); tests reach it through the test door"
    )]
    pub(crate) async fn drop_live_track(&self, bot: Uuid, track: &str) -> Result<u64, CoreError> {
        let old = {
            let mut slots = self.inner.live.lock();
            slots.insert((bot, track.to_owned()), Slot::Dropped(Instant::now()))
        };
        if let Some(Slot::Live { tx, stop, task }) = old {
            stop.store(true, Ordering::SeqCst);
            drop(tx);
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_WAIT, task).await.is_err() {
                abort.abort();
            }
        }
        let Some(row) = self.db().bot_by_id(bot).await? else {
            return Ok(0);
        };
        const PAGE: i64 = 500;
        let (mut after, mut ids) = (0, Vec::new());
        loop {
            let rows = self
                .db()
                .events_after(row.org_id, Some(row.meeting_id), after, PAGE)
                .await?;
            for r in &rows {
                if r.kind != LIVE_SEGMENT {
                    continue;
                }
                match serde_json::from_str::<LiveTiming>(&r.data) {
                    Ok(t) if t.bot_id.uuid() == bot && t.track == track => ids.push(r.id),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(seq = r.seq, error = %e, "a live segment event cannot be read")
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = last.seq,
                _ => break,
            }
        }
        Ok(self.db().delete_events(row.org_id, &ids).await?)
    }

    /// The `test-access` door to [`Self::drop_live_track`] (the opt-out path calls it).
    #[cfg(feature = "test-access")]
    pub async fn drop_live_track_for_tests(
        &self,
        bot: crate::ids::BotId,
        track: &str,
    ) -> Result<u64, CoreError> {
        self.drop_live_track(bot.uuid(), track).await
    }

    /// A track's transcriber: chunks in, utterances found, each batch transcribed in turn.
    async fn transcribe_track(self, ctx: TrackCtx, mut rx: mpsc::Receiver<Chunk>) {
        let mut seg = Segmenter::default();
        let mut queue: VecDeque<Utterance> = VecDeque::new();
        // Ready (the model loaded, the prompt fitted) before the first utterance ends; a
        // failure here is tried again then.
        let mut opts = self.live_options(&ctx).await.ok();
        let mut last = Instant::now();
        loop {
            if ctx.stop.load(Ordering::SeqCst) {
                return;
            }
            // Catch up with what arrived meanwhile before transcribing.
            while let Ok(c) = rx.try_recv() {
                queue.extend(seg.push(c.start_ms, &c.pcm));
                last = Instant::now();
            }
            if !queue.is_empty() {
                let batch = Batch::take(&mut queue);
                if let Err(e) = self.transcribe_batch(&ctx, &mut opts, batch).await {
                    if matches!(e, CoreError::TranscriptionUnavailable(_)) {
                        // No local model: nothing to do here until one is installed.
                        return;
                    }
                    tracing::warn!(bot_id = %ctx.bot, error = %e, "a live segment was lost");
                }
                continue;
            }
            match tokio::time::timeout(IDLE_FLUSH, rx.recv()).await {
                Ok(Some(c)) => {
                    queue.extend(seg.push(c.start_ms, &c.pcm));
                    last = Instant::now();
                }
                Ok(None) => {
                    // Dropped from the hub: finish what was said, unless stopped.
                    queue.extend(seg.flush());
                    if queue.is_empty() {
                        return;
                    }
                }
                Err(_) => {
                    queue.extend(seg.flush());
                    if queue.is_empty() && last.elapsed() >= IDLE_EXIT {
                        rx.close();
                        // A chunk that slipped in before the close is still heard.
                        while let Ok(c) = rx.try_recv() {
                            queue.extend(seg.push(c.start_ms, &c.pcm));
                        }
                        queue.extend(seg.flush());
                        if queue.is_empty() {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Transcribes one batch of a track's utterances and appends its segments.
    async fn transcribe_batch(
        &self,
        ctx: &TrackCtx,
        opts: &mut Option<meetvault_whisper::DecodeOptions>,
        batch: Batch,
    ) -> Result<(), CoreError> {
        let opts = match opts {
            Some(o) => o.clone(),
            None => opts.insert(self.live_options(ctx).await?).clone(),
        };
        let stop = ctx.stop.clone();
        let heard = self
            .engine()
            .run_live(batch.pcm.clone(), opts, move |_| {
                if stop.load(Ordering::SeqCst) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await;
        if ctx.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let heard = heard?;
        let segments: Vec<_> = heard
            .segments
            .iter()
            .filter(|s| !s.text.trim().is_empty())
            .collect();
        if segments.is_empty() {
            return Ok(());
        }
        let keys = self
            .meeting_read_keys(ctx.org, ctx.meeting, ctx.owner)
            .await?;
        // A meeting deleted meanwhile has no key left: nothing is written for it.
        let Some((kref, key)) = keys.newest() else {
            return Ok(());
        };
        let speaker = self.live_speaker(ctx, &keys).await?;
        let events = segments
            .into_iter()
            .map(|s| {
                let start_ms = batch.to_track_ms(s.start, false);
                outbox_event(
                    ctx.org,
                    &DomainEvent::LiveSegment(
                        LiveTiming {
                            bot_id: ctx.bot.into(),
                            meeting_id: ctx.meeting.into(),
                            track: ctx.track.clone(),
                            start_ms,
                            end_ms: batch.to_track_ms(s.end, true).max(start_ms),
                        },
                        SegmentWords {
                            speaker: speaker.clone(),
                            text: s.text.trim().to_owned(),
                        },
                    ),
                    Some((key, kref)),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ctx.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.append_events(ctx.meeting, &events).await
    }

    /// Greedy decoding without temperature fallback (the final transcript has both), the
    /// bot's language (else its meeting's), and the glossary prompt jobs use.
    async fn live_options(
        &self,
        ctx: &TrackCtx,
    ) -> Result<meetvault_whisper::DecodeOptions, CoreError> {
        let row = self
            .db()
            .meeting(ctx.org, ctx.meeting)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        let meeting_glossary = match &row.glossary {
            Some(g) => {
                let keys = self
                    .meeting_read_keys(ctx.org, ctx.meeting, ctx.owner)
                    .await?;
                Some(keys.text(ctx.org, "meetings", row.id, "glossary", g)?)
            }
            None => None,
        };
        let prompt =
            Core::transcription_prompt(self.org_glossary(ctx.org).await?, meeting_glossary);
        let mut opts = decode_options(
            self.config(),
            Some(1),
            ctx.language.clone().or(row.language),
        );
        opts.vad = false;
        opts.temperatures = vec![0.0];
        opts.initial_prompt = self.fit_local_prompt(prompt).await?;
        Ok(opts)
    }

    /// The participant the track is mapped to (the newest mapping), else the track's key.
    async fn live_speaker(
        &self,
        ctx: &TrackCtx,
        keys: &crate::vault::MeetingKeys,
    ) -> Result<String, CoreError> {
        let mapped = self
            .db()
            .bot_participants(ctx.org, ctx.bot)
            .await?
            .into_iter()
            .filter(|p| p.track.as_deref() == Some(ctx.track.as_str()))
            .max_by_key(|p| p.joined_at);
        Ok(match mapped {
            Some(p) => match &p.name {
                Some(ct) => keys.text(ctx.org, "bot_participants", p.id, "name", ct)?,
                None => p.ext_id,
            },
            None => ctx.track.clone(),
        })
    }
}
