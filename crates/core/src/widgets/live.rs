//! The transcript a visitor sees while talking, for a widget with `live_transcript` on. The
//! browser's recording arrives as chunks cut at any byte (MediaRecorder's one-second slices of
//! one WebM or Ogg stream); each, once sealed and stored, is also appended here, in order, to
//! the session's growing stream, which a blocking thread decodes as it grows
//! (`meetvault_audio::growing`). The audio goes through the bots' live path: utterances found
//! at pauses (`bots::Segmenter`), each transcribed once on the live permits, ahead of jobs.
//! The lines are held in memory only, for the visitor's own session token, and forgotten
//! [`LINGER`] after the recording ends (or with the session): what is kept is the meeting the
//! submission becomes, transcribed from the whole recording.
//!
//! Bounded: at most `widgets.live_sessions` visitors at once on an instance (the next ones
//! record as usual, without a live transcript), the session's own byte cap on what is fed,
//! and an input that sends nothing for [`IDLE`] ends. A session's chunks and its polls must
//! reach the instance that opened it: behind a load balancer without session affinity, the
//! widget simply shows no live text.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meetvault_audio::{Feeder, Hint, Limits};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::bots::{Batch, RATE, Segmenter};
use crate::ids::WidgetId;
use crate::transcription::decode_options;
use crate::{Core, CoreError};

/// A recording that receives nothing this long has ended (its visitor left).
const IDLE: Duration = Duration::from_secs(120);
/// How long the lines stay for the visitor's last polls after the recording ends.
pub(crate) const LINGER: Duration = Duration::from_secs(120);
/// Decoded audio handed to the transcriber at a time (half a second, s16le).
const PIECE_BYTES: usize = RATE;

/// A line of the live transcript: ms from the recording's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveLine {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

/// What the visitor's poll sees.
#[derive(Debug, Clone, Default)]
pub struct LiveTranscript {
    /// Whether this instance transcribes the session live.
    pub live: bool,
    /// The lines after the `after` asked for.
    pub lines: Vec<LiveLine>,
    /// How many lines there are in all (the next poll's `after`).
    pub next: usize,
    /// The recording ended and everything in it was transcribed.
    pub done: bool,
}

/// This instance's live widget sessions (`Core`'s, in memory).
#[derive(Default)]
pub(crate) struct LiveHub {
    sessions: Mutex<HashMap<Uuid, Arc<Session>>>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("widgets::LiveHub")
            .field("sessions", &self.lock().len())
            .finish()
    }
}

impl LiveHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, sid: Uuid) -> Option<Arc<Session>> {
        self.lock().get(&sid).cloned()
    }
}

struct Session {
    feed: Mutex<Feed>,
    lines: Mutex<Vec<LiveLine>>,
    done: Mutex<Option<Instant>>,
    stop: Arc<AtomicBool>,
}

/// Chunks waiting for their turn (a later one stored before an earlier one), and the stream.
struct Feed {
    next: u32,
    early: BTreeMap<u32, Vec<u8>>,
    feeder: Option<Feeder>,
}

/// Chunks stored ahead of an earlier one that wait for it (each position is reserved in
/// order, so the gap is a request or two; more ends the live stream).
const MAX_EARLY: usize = 8;

impl Feed {
    /// Takes chunk `seq`; returns the chunks now due to the stream, in order (none for a
    /// position already fed, or once the stream has ended).
    fn accept(&mut self, seq: u32, bytes: &[u8]) -> Vec<Vec<u8>> {
        if seq < self.next || self.feeder.is_none() {
            return Vec::new();
        }
        if self.early.len() >= MAX_EARLY {
            self.feeder = None;
            self.early.clear();
            return Vec::new();
        }
        self.early.insert(seq, bytes.to_vec());
        let mut due = Vec::new();
        while let Some(b) = self.early.remove(&self.next) {
            due.push(b);
            self.next += 1;
        }
        due
    }
}

impl Session {
    fn finished_long_ago(&self) -> bool {
        lock(&self.done).is_some_and(|at| at.elapsed() >= LINGER)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl super::Widgets<'_> {
    /// The live transcript of the session `bearer` names: its lines after the first `after`.
    pub async fn live_transcript(
        self,
        id: WidgetId,
        origin: Option<&str>,
        bearer: &str,
        after: usize,
    ) -> Result<LiveTranscript, CoreError> {
        let core = self.core;
        let (_, session) = self.session(id, origin, bearer).await?;
        Ok(core.widget_live(session.id, after))
    }
}

impl Core {
    /// Starts the live transcript of session `sid` (of `org`), when this instance has room;
    /// answers whether it did.
    pub(super) fn start_widget_live(&self, org: Uuid, sid: Uuid, max_seconds: u32) -> bool {
        let room = usize::try_from(self.config().widgets.live_sessions).unwrap_or(0);
        if !self.config().transcription.live || room == 0 {
            return false;
        }
        let hub = &self.inner.widget_live;
        let mut sessions = hub.lock();
        sessions.retain(|_, s| !s.finished_long_ago());
        if sessions.len() >= room {
            tracing::info!(
                "every live widget transcriber is busy: this visitor records without one"
            );
            return false;
        }
        let (feeder, source) = meetvault_audio::growing(IDLE);
        let session = Arc::new(Session {
            feed: Mutex::new(Feed {
                next: 0,
                early: BTreeMap::new(),
                feeder: Some(feeder),
            }),
            lines: Mutex::default(),
            done: Mutex::default(),
            stop: Arc::default(),
        });
        let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
        let limits = Limits {
            max_duration_secs: f64::from(max_seconds) + 5.0,
        };
        // The decoder blocks on the stream; its output goes to the transcriber in pieces.
        tokio::task::spawn_blocking(move || {
            let mut piece = Vec::with_capacity(PIECE_BYTES);
            let decoded = meetvault_audio::decode(source, &Hint::default(), &limits, &mut |c| {
                for s in c {
                    let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
                    piece.extend_from_slice(&v.to_le_bytes());
                }
                if piece.len() >= PIECE_BYTES {
                    let _ = tx.blocking_send(std::mem::take(&mut piece));
                }
            });
            if !piece.is_empty() {
                let _ = tx.blocking_send(piece);
            }
            if let Err(e) = decoded {
                // A recording cut short is how a live one ends; anything else is said once.
                tracing::debug!(error = %e, "a live widget recording stopped decoding");
            }
        });
        tokio::spawn(
            self.clone()
                .transcribe_widget_live(org, session.clone(), rx),
        );
        sessions.insert(sid, session);
        true
    }

    /// Appends chunk `seq` of session `sid` to its live stream (chunks stored out of order
    /// wait for the ones before them). Never fails: the live transcript is a best effort.
    pub(super) fn feed_widget_live(&self, sid: Uuid, seq: u32, audio: &[u8]) {
        let Some(session) = self.inner.widget_live.get(sid) else {
            return;
        };
        let mut feed = lock(&session.feed);
        for bytes in feed.accept(seq, audio) {
            let alive = feed.feeder.as_ref().is_some_and(|f| f.push(bytes));
            if !alive {
                // The decoder gave up (not audio it can read): nothing more is live.
                feed.feeder = None;
                feed.early.clear();
                return;
            }
        }
    }

    /// Ends session `sid`'s live stream (the recording was submitted): what was said is
    /// transcribed to its end.
    pub(super) fn end_widget_live(&self, sid: Uuid) {
        if let Some(session) = self.inner.widget_live.get(sid) {
            let mut feed = lock(&session.feed);
            feed.feeder = None;
            feed.early.clear();
        }
    }

    /// Forgets the live transcripts that ended [`LINGER`] ago (a sweeper's turn: an abandoned
    /// recording's lines do not wait for the next visitor to be dropped).
    pub(super) fn prune_widget_live(&self) {
        self.inner
            .widget_live
            .lock()
            .retain(|_, s| !s.finished_long_ago());
    }

    /// Stops and forgets session `sid`'s live transcript (the session is deleted).
    pub(super) fn forget_widget_live(&self, sid: Uuid) {
        if let Some(session) = self.inner.widget_live.lock().remove(&sid) {
            session.stop.store(true, Ordering::SeqCst);
            lock(&session.feed).feeder = None;
        }
    }

    /// Session `sid`'s live lines after the first `after`.
    pub(super) fn widget_live(&self, sid: Uuid, after: usize) -> LiveTranscript {
        let Some(session) = self.inner.widget_live.get(sid) else {
            return LiveTranscript::default();
        };
        let lines = lock(&session.lines);
        LiveTranscript {
            live: true,
            lines: lines.iter().skip(after).cloned().collect(),
            next: lines.len(),
            done: lock(&session.done).is_some(),
        }
    }

    /// A session's transcriber: decoded audio in, utterances found, each batch transcribed.
    async fn transcribe_widget_live(
        self,
        org: Uuid,
        session: Arc<Session>,
        mut rx: mpsc::Receiver<Vec<u8>>,
    ) {
        let mut seg = Segmenter::default();
        let mut queue = VecDeque::new();
        let mut heard: i64 = 0;
        let mut opts = None;
        let mut push = |seg: &mut Segmenter, pcm: Vec<u8>, queue: &mut VecDeque<_>| {
            queue.extend(seg.push(heard * 1000 / RATE as i64, &pcm));
            heard += (pcm.len() / 2) as i64;
        };
        loop {
            if session.stop.load(Ordering::SeqCst) {
                break;
            }
            while let Ok(pcm) = rx.try_recv() {
                push(&mut seg, pcm, &mut queue);
            }
            if !queue.is_empty() {
                let batch = Batch::take(&mut queue);
                match self
                    .transcribe_widget_batch(org, &session, &mut opts, batch)
                    .await
                {
                    Ok(()) => {}
                    Err(CoreError::TranscriptionUnavailable(_)) => break,
                    Err(e) => tracing::warn!(error = %e, "a live widget line was lost"),
                }
                continue;
            }
            match rx.recv().await {
                Some(pcm) => push(&mut seg, pcm, &mut queue),
                None => {
                    queue.extend(seg.flush());
                    if queue.is_empty() {
                        break;
                    }
                }
            }
        }
        *lock(&session.done) = Some(Instant::now());
    }

    async fn transcribe_widget_batch(
        &self,
        org: Uuid,
        session: &Session,
        opts: &mut Option<meetvault_whisper::DecodeOptions>,
        batch: Batch,
    ) -> Result<(), CoreError> {
        let opts = match opts {
            Some(o) => o.clone(),
            None => opts.insert(self.widget_live_options(org).await?).clone(),
        };
        let pieces = self
            .live_infer(&session.stop, opts, batch.pcm.clone())
            .await?;
        let mut lines = lock(&session.lines);
        for p in pieces {
            let start_ms = batch.to_track_ms(p.start, false);
            lines.push(LiveLine {
                start_ms,
                end_ms: batch.to_track_ms(p.end, true).max(start_ms),
                text: p.text,
            });
        }
        Ok(())
    }

    /// Greedy decoding without temperature fallback, the language detected, and the org's
    /// glossary as the prompt (as the submission's transcription has it).
    async fn widget_live_options(
        &self,
        org: Uuid,
    ) -> Result<meetvault_whisper::DecodeOptions, CoreError> {
        let prompt = Core::transcription_prompt(self.org_glossary(org).await?, None);
        let mut opts = decode_options(self.config(), Some(1), None);
        opts.vad = false;
        opts.temperatures = vec![0.0];
        opts.initial_prompt = self.fit_local_prompt(prompt).await?;
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> (Feed, meetvault_audio::GrowingSource) {
        let (feeder, source) = meetvault_audio::growing(Duration::from_millis(1));
        let f = Feed {
            next: 0,
            early: BTreeMap::new(),
            feeder: Some(feeder),
        };
        (f, source)
    }

    #[test]
    fn chunks_reach_the_stream_in_order_once_each() {
        let (mut f, _source) = feed();
        assert_eq!(f.accept(0, b"a"), vec![b"a".to_vec()]);
        // 2 was stored before 1: it waits for it.
        assert!(f.accept(2, b"c").is_empty());
        assert_eq!(f.accept(1, b"b"), vec![b"b".to_vec(), b"c".to_vec()]);
        // A repeat of a position already fed is not fed again.
        assert!(f.accept(1, b"b").is_empty());
        assert_eq!(f.accept(3, b"d"), vec![b"d".to_vec()]);
    }

    #[test]
    fn too_many_waiting_ends_the_stream() {
        let (mut f, _source) = feed();
        for seq in 1..=MAX_EARLY as u32 {
            assert!(f.accept(seq, b"x").is_empty());
        }
        assert!(f.accept(MAX_EARLY as u32 + 1, b"x").is_empty());
        assert!(f.feeder.is_none(), "the stream ended");
        assert!(f.accept(0, b"x").is_empty(), "and takes nothing more");
    }
}
