//! Live transcription of a bot's audio during the meeting. Each chunk a bot in the meeting
//! sends is handed (after it is sealed and stored) to its track's transcriber: a task per
//! (bot, track), in memory only, that finds finished utterances (`utterances.rs`), transcribes
//! each once with the local engine — greedy, no temperature fallback, on the live permits
//! ahead of jobs (`transcription/engine.rs`) — and appends a `segment.live` event, sealed like
//! every segment, to the bot's meeting stream. Emitted text is never revised; the final
//! transcript is made from the stored chunks when the bot ends, so a restart loses only live
//! state. Whisper's cost is mostly its encoder, the same for a 30-s window as for a 3-s
//! utterance: so what waits for the engine goes together — a track's waiting utterances, and
//! the waiting requests of every track of the same org with the same language and prompt (never
//! another org's: a word near a join could be given back to the wrong request), joined with a second
//! of silence between them, timed word by word, and each word given back to the request it
//! was said in. A busy machine (three bots' speakers at once) runs fewer, fuller windows
//! instead of falling behind; an idle one runs each utterance alone.
//!
//! Bounded: at most [`MAX_TRACKS`] transcribers, each holding at most [`QUEUE`] chunks and an
//! utterance of at most `utterances::MAX_SECS`; beyond that chunks are not transcribed live
//! (they are stored all the same). A transcriber with nothing to do for [`IDLE_EXIT`] ends.
//! Each transcriber has at most one request waiting for the engine, so the shared waiting
//! list is bounded by the transcribers.

mod summary;
pub(crate) use summary::RollingSummaries;

use std::collections::{HashMap, VecDeque};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use meetvault_store::bots::BotRow;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::utterances::{
    BATCH_MAX_SAMPLES, Batch, Piece, RATE, Segmenter, Utterance, assign_words,
};
use super::{BotOptions, BotState, state_of};
use crate::events::{DomainEvent, LIVE_SEGMENT, LiveTiming, SegmentWords, outbox_event};
use crate::transcription::{LiveTurn, decode_options};
use crate::{Core, CoreError};

/// Live transcribers at once, across all bots.
pub(crate) const MAX_TRACKS: usize = 64;
/// Chunks waiting for a transcriber (about two minutes of 2-s chunks).
pub(crate) const QUEUE: usize = 64;
/// A track that sends nothing this long has said what it was saying (three 2-s chunks: the
/// storage in front of live transcription, S3 say, delivers chunks with jitter, and a flush
/// too early would cut a sentence in two).
const IDLE_FLUSH: Duration = Duration::from_secs(6);
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
    /// Requests waiting for the engine, oldest first.
    waiting: Mutex<VecDeque<Request>>,
}

/// One track's audio waiting for the engine, and where its pieces go.
struct Request {
    /// Whose audio it is: only one party's requests share a window (words are given back by
    /// their timestamps, which can drift across a join).
    party: Uuid,
    opts: meetvault_whisper::DecodeOptions,
    pcm: Vec<f32>,
    stop: Arc<AtomicBool>,
    reply: oneshot::Sender<Result<Vec<Piece>, CoreError>>,
}

impl Request {
    /// Whether two requests can share a window: the same language and prompt.
    fn joins(&self, other: &Request) -> bool {
        self.party == other.party
            && self.opts.language == other.opts.language
            && self.opts.initial_prompt == other.opts.initial_prompt
    }
}

impl LiveHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Request>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The oldest waiting request and those that can share its window, in order, while the
    /// joined audio fits one; stopped tracks' requests are dropped.
    fn take_window(&self) -> Vec<Request> {
        let mut queue = self.queue();
        queue.retain(|r| !r.stop.load(Ordering::SeqCst));
        let Some(first) = queue.pop_front() else {
            return Vec::new();
        };
        let mut len = first.pcm.len();
        let mut taken = vec![first];
        let mut rest = VecDeque::with_capacity(queue.len());
        while let Some(r) = queue.pop_front() {
            if r.joins(&taken[0]) && len + RATE + r.pcm.len() <= BATCH_MAX_SAMPLES {
                len += RATE + r.pcm.len();
                taken.push(r);
            } else {
                rest.push_back(r);
            }
        }
        *queue = rest;
        taken
    }
}

/// A live request that was lost (its runner stopped); the track goes on with the next.
fn lost() -> CoreError {
    CoreError::Conflict("a live transcription window was lost".into())
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
        // The rolling summary quoted them too: their lines leave it, and its earlier versions
        // leave the stream.
        self.inner
            .live_summaries
            .forget_track(row.meeting_id, bot, track);
        const PAGE: i64 = 500;
        let (mut after, mut ids, mut summaries) = (0, Vec::new(), Vec::new());
        loop {
            let rows = self
                .db()
                .events_after(row.org_id, Some(row.meeting_id), after, PAGE)
                .await?;
            for r in &rows {
                if r.kind == crate::events::LIVE_SUMMARY {
                    summaries.push(r.id);
                    continue;
                }
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
        self.db().delete_events(row.org_id, &summaries).await?;
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
        let heard = self
            .live_infer(ctx.org, &ctx.stop, opts, batch.pcm.clone())
            .await;
        if ctx.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut segments = heard?;
        if segments.is_empty() {
            return Ok(());
        }
        // A meeting whose transcripts are stored redacted hears them redacted live too.
        let Some(row) = self.db().meeting(ctx.org, ctx.meeting).await? else {
            return Ok(());
        };
        if let Some(d) = self.transcript_redactor(&row).await? {
            for s in &mut segments {
                s.text = meetvault_intel::pii::Mapping::new().redact(&d, &s.text);
            }
        }
        let keys = self
            .meeting_read_keys(ctx.org, ctx.meeting, ctx.owner)
            .await?;
        // A meeting deleted meanwhile has no key left: nothing is written for it.
        let Some((kref, key)) = keys.newest() else {
            return Ok(());
        };
        let speaker = self.live_speaker(ctx, &keys).await?;
        let heard: Vec<(i64, String)> = segments
            .iter()
            .map(|s| (batch.to_track_ms(s.start, false), s.text.clone()))
            .collect();
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
                            text: s.text,
                        },
                    ),
                    Some((key, kref)),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ctx.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.append_events(ctx.meeting, &events).await?;
        self.roll_live_summary(
            summary::Heard1 {
                org: ctx.org,
                meeting: ctx.meeting,
                bot: ctx.bot,
                track: &ctx.track,
                speaker: &speaker,
                segments: heard,
            },
            (key, kref),
        )
        .await
    }

    /// What the engine hears in `pcm`: queued with every other track's waiting audio, and run
    /// by whichever waiting track gets a live permit first, with every request that can share
    /// its window (see the module docs).
    pub(crate) async fn live_infer(
        &self,
        party: Uuid,
        stop: &Arc<AtomicBool>,
        opts: meetvault_whisper::DecodeOptions,
        pcm: Vec<f32>,
    ) -> Result<Vec<Piece>, CoreError> {
        let (reply, mut heard) = oneshot::channel();
        self.inner.live.queue().push_back(Request {
            party,
            opts,
            pcm,
            stop: stop.clone(),
            reply,
        });
        loop {
            let turn = self.engine().live_turn().await?;
            let taken = self.inner.live.take_window();
            if taken.is_empty() {
                // Another track took this request and is running it.
                drop(turn);
                return heard.await.unwrap_or_else(|_| Err(lost()));
            }
            self.run_window(&turn, taken).await;
            drop(turn);
            match heard.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Empty) => continue,
                Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
            }
        }
    }

    /// Runs one window of requests and answers each.
    async fn run_window(&self, turn: &LiveTurn, mut taken: Vec<Request>) {
        let began = Instant::now();
        let audio_ms = taken
            .iter()
            .map(|r| r.pcm.len() * 1000 / RATE)
            .sum::<usize>();
        let requests = taken.len();
        let _log = window_log(began, audio_ms, requests);
        if taken.len() == 1 {
            let Some(r) = taken.pop() else { return };
            let stop = r.stop.clone();
            let heard = self
                .engine()
                .run_live(turn, r.pcm, r.opts, move |_| {
                    if stop.load(Ordering::SeqCst) {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .await
                .map(|t| {
                    t.segments
                        .into_iter()
                        .map(|s| Piece {
                            start: s.start,
                            end: s.end,
                            text: s.text.trim().to_owned(),
                        })
                        .filter(|p| !p.text.is_empty())
                        .collect()
                });
            let _ = r.reply.send(heard);
            return;
        }
        let mut pcm = Vec::new();
        let mut spans = Vec::with_capacity(taken.len());
        for r in &taken {
            if !pcm.is_empty() {
                pcm.resize(pcm.len() + RATE, 0.0);
            }
            let from = pcm.len() as f64 / RATE as f64;
            pcm.extend_from_slice(&r.pcm);
            spans.push((from, pcm.len() as f64 / RATE as f64));
        }
        let mut opts = taken[0].opts.clone();
        opts.word_timestamps = true;
        match self
            .engine()
            .run_live(turn, pcm, opts, |_| ControlFlow::Continue(()))
            .await
        {
            Ok(t) => {
                for (r, pieces) in taken.into_iter().zip(assign_words(&spans, &t.segments)) {
                    let _ = r.reply.send(Ok(pieces));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, requests = taken.len(), "a live window failed");
                let unavailable = matches!(e, CoreError::TranscriptionUnavailable(_));
                for r in taken {
                    let _ = r.reply.send(Err(if unavailable {
                        CoreError::TranscriptionUnavailable(e.to_string())
                    } else {
                        lost()
                    }));
                }
            }
        }
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

/// Logs a live window's size and wall time when it ends (debug: for tuning `live_concurrency`).
fn window_log(began: Instant, audio_ms: usize, requests: usize) -> impl Drop {
    struct Log(Instant, usize, usize);
    impl Drop for Log {
        fn drop(&mut self) {
            tracing::debug!(
                requests = self.2,
                audio_ms = self.1,
                wall_ms = self.0.elapsed().as_millis() as u64,
                "live window"
            );
        }
    }
    Log(began, audio_ms, requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(party: Uuid, secs: usize) -> Request {
        let (reply, _) = oneshot::channel();
        Request {
            party,
            opts: meetvault_whisper::DecodeOptions::default(),
            pcm: vec![0.0; secs * RATE],
            stop: Arc::default(),
            reply,
        }
    }

    #[test]
    fn a_window_holds_one_partys_audio_only() {
        let hub = LiveHub::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for party in [a, b, a, b] {
            hub.queue().push_back(request(party, 2));
        }
        let first = hub.take_window();
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|r| r.party == a));
        let second = hub.take_window();
        assert_eq!(second.len(), 2);
        assert!(second.iter().all(|r| r.party == b));
        assert!(hub.take_window().is_empty());
    }
}
