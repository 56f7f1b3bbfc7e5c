//! The transcript a visitor sees while talking, for a widget with `live_transcript` on. The
//! browser's recording arrives as chunks cut at any byte (MediaRecorder's one-second slices of
//! one WebM or Ogg stream); each, once sealed and stored, is also appended here, in order, to
//! the session's growing stream, which a blocking thread decodes as it grows
//! (`meetvault_audio::growing`). The audio goes through the bots' live path: utterances found
//! at pauses (`bots::Segmenter`), each transcribed once on the live permits, ahead of jobs —
//! never in one window with anyone else's audio. The lines are held in memory only, for the
//! visitor's own session token, and forgotten [`LINGER`] after the recording ends (or with the
//! widget): what is kept is the meeting the submission becomes, transcribed from the whole
//! recording.
//!
//! Bounded, since anyone may open a session: at most `widgets.live_sessions` recordings at once
//! on an instance and one per visitor address (the next record as usual, without a live
//! transcript); audio is transcribed no faster than it could have been spoken ([`AHEAD`] of the
//! clock at most, then the live transcript ends), at most [`BACKLOG_SECS`] of it waits for the
//! engine, and a recording ends by the clock at the widget's longest length (plus
//! [`GRACE`]), or after [`IDLE`] without a chunk. A session's chunks and its polls must reach
//! the instance that opened it: behind a load balancer without session affinity, the widget
//! simply shows no live text.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meetvault_audio::{Feeder, Hint, Limits};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::bots::{Batch, RATE, Segmenter, Utterance};
use crate::ids::WidgetId;
use crate::transcription::decode_options;
use crate::{Core, CoreError};

/// A recording that receives nothing this long has ended (its visitor left, or an upload
/// failed for good): a browser sends a chunk a second, and retries one for about 7 s.
const IDLE: Duration = Duration::from_secs(30);
/// How long the lines stay for the visitor's last polls after the recording ends.
pub(crate) const LINGER: Duration = Duration::from_secs(120);
/// How far the audio may run ahead of the time since the session opened (chunks in flight,
/// a clock's skew) before it is taken for audio sent faster than anyone speaks.
const AHEAD: Duration = Duration::from_secs(15);
/// Past the widget's longest recording by this much, the recording has ended.
const GRACE: Duration = Duration::from_secs(30);
/// The most audio waiting for the engine (seconds); beyond it utterances are not transcribed
/// live (the meeting's transcript has them all the same).
const BACKLOG_SECS: usize = 30;
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

/// Who a live session is for, as its opening named it.
pub(super) struct Opening<'a> {
    pub org: Uuid,
    pub sid: Uuid,
    pub widget: Uuid,
    /// The session token's SHA-256 (hex): polls are answered after the session's row is gone.
    pub token_hash: &'a str,
    /// The visitor's address key (memory only, as the rate limiter's).
    pub who: String,
    pub max_seconds: u32,
}

struct Session {
    widget: Uuid,
    token_hash: String,
    who: String,
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
        if seq != self.next && self.early.len() >= MAX_EARLY {
            self.end();
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

    /// Ends the stream: the decoder reads what it was given, then stops.
    fn end(&mut self) {
        self.feeder = None;
        self.early.clear();
    }
}

impl Session {
    fn finished(&self) -> bool {
        lock(&self.done).is_some()
    }

    fn finished_long_ago(&self) -> bool {
        lock(&self.done).is_some_and(|at| at.elapsed() >= LINGER)
    }

    fn transcript(&self, after: usize) -> LiveTranscript {
        let lines = lock(&self.lines);
        LiveTranscript {
            live: true,
            lines: lines.iter().skip(after).cloned().collect(),
            next: lines.len(),
            done: self.finished(),
        }
    }
}

/// Marks its session done when dropped (its transcriber ended, however), and ends its stream:
/// the decoder reads what it was given, then stops. The lines stay for the visitor.
struct Done(Arc<Session>);

impl Drop for Done {
    fn drop(&mut self) {
        lock(&self.0.feed).end();
        *lock(&self.0.done) = Some(Instant::now());
    }
}

/// Queues utterances for the engine while at most [`BACKLOG_SECS`] of audio waits.
fn enqueue(queue: &mut VecDeque<Utterance>, found: Vec<Utterance>) {
    let mut waiting: usize = queue.iter().map(|u| u.pcm.len()).sum();
    for u in found {
        if waiting + u.pcm.len() > BACKLOG_SECS * RATE {
            tracing::info!(
                "a live widget transcriber is behind: an utterance is not transcribed live"
            );
            continue;
        }
        waiting += u.pcm.len();
        queue.push_back(u);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl super::Widgets<'_> {
    /// The live transcript of the session `bearer` names: its lines after the first `after`.
    /// Answered from memory while this instance holds it (also after the submission's job
    /// deleted the session's row), else from the session's row (`live: false`).
    pub async fn live_transcript(
        self,
        id: WidgetId,
        origin: Option<&str>,
        bearer: &str,
        after: usize,
    ) -> Result<LiveTranscript, CoreError> {
        let core = self.core;
        let row = self.enabled(id).await?;
        super::visitor::check_allowed(&row, origin)?;
        let token =
            meetvault_auth::token::Token::parse(meetvault_auth::token::WIDGET_SESSION, bearer)
                .map_err(|_| CoreError::InvalidToken)?;
        let hash = meetvault_auth::token::sha256_hex(token.expose());
        let held = core
            .inner
            .widget_live
            .lock()
            .values()
            .find(|s| s.widget == row.id && s.token_hash == hash)
            .cloned();
        if let Some(session) = held {
            return Ok(session.transcript(after));
        }
        self.session(id, origin, bearer).await?;
        Ok(LiveTranscript::default())
    }
}

impl Core {
    /// Starts the live transcript of a session, when this instance has room and the visitor
    /// has no other live recording; answers whether it did.
    pub(super) fn start_widget_live(&self, o: Opening<'_>) -> bool {
        let room = usize::try_from(self.config().widgets.live_sessions).unwrap_or(0);
        if !self.config().transcription.live || room == 0 {
            return false;
        }
        let hub = &self.inner.widget_live;
        let mut sessions = hub.lock();
        sessions.retain(|_, s| !s.finished_long_ago());
        let running: Vec<&Arc<Session>> = sessions.values().filter(|s| !s.finished()).collect();
        if running.len() >= room || running.iter().any(|s| s.who == o.who) {
            tracing::info!("no live widget transcriber for this visitor: they record without one");
            return false;
        }
        let (feeder, source) = meetvault_audio::growing(IDLE);
        let stopper = source.stopper();
        let session = Arc::new(Session {
            widget: o.widget,
            token_hash: o.token_hash.to_owned(),
            who: o.who,
            feed: Mutex::new(Feed {
                next: 0,
                early: BTreeMap::new(),
                feeder: Some(feeder),
            }),
            lines: Mutex::default(),
            done: Mutex::default(),
            stop: Arc::default(),
        });
        let (tx, rx) = mpsc::channel::<Vec<u8>>(8);
        let limits = Limits {
            max_duration_secs: f64::from(o.max_seconds) + 5.0,
        };
        // The decoder blocks on the stream; its output goes to the transcriber in pieces.
        // When the transcriber is gone it drops the stream, so this ends with what it has.
        tokio::task::spawn_blocking(move || {
            let mut piece = Vec::with_capacity(PIECE_BYTES);
            let decoded = meetvault_audio::decode(source, &Hint::default(), &limits, &mut |c| {
                for s in c {
                    let v = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
                    piece.extend_from_slice(&v.to_le_bytes());
                }
                if piece.len() >= PIECE_BYTES
                    && tx.blocking_send(std::mem::take(&mut piece)).is_err()
                {
                    // The transcriber is gone: nothing more is read.
                    stopper.stop();
                }
            });
            if !piece.is_empty() {
                let _ = tx.blocking_send(piece);
            }
            if let Err(e) = decoded {
                // A recording cut short is how a live one ends.
                tracing::debug!(error = %e, "a live widget recording stopped decoding");
            }
        });
        let until = Instant::now() + Duration::from_secs(u64::from(o.max_seconds)) + GRACE;
        tokio::spawn(
            self.clone()
                .transcribe_widget_live(o.org, o.sid, session.clone(), rx, until),
        );
        sessions.insert(o.sid, session);
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
                feed.end();
                return;
            }
        }
    }

    /// Ends session `sid`'s live stream (the recording was submitted): what was said is
    /// transcribed to its end, and the lines stay for [`LINGER`].
    pub(super) fn end_widget_live(&self, sid: Uuid) {
        if let Some(session) = self.inner.widget_live.get(sid) {
            lock(&session.feed).end();
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

    /// Stops and forgets the live transcripts of a widget being deleted (also those whose
    /// session's row the submission job has already deleted).
    pub(super) fn forget_widget_live_of(&self, widget: Uuid) {
        let gone: Vec<Arc<Session>> = {
            let mut sessions = self.inner.widget_live.lock();
            let ids: Vec<Uuid> = sessions
                .iter()
                .filter(|(_, s)| s.widget == widget)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| sessions.remove(id)).collect()
        };
        for session in gone {
            session.stop.store(true, Ordering::SeqCst);
            lock(&session.feed).end();
        }
    }

    /// Stops and forgets session `sid`'s live transcript (it expired).
    pub(super) fn forget_widget_live(&self, sid: Uuid) {
        if let Some(session) = self.inner.widget_live.lock().remove(&sid) {
            session.stop.store(true, Ordering::SeqCst);
            lock(&session.feed).end();
        }
    }

    /// A session's transcriber: decoded audio in, utterances found, each batch transcribed;
    /// it ends with the stream, at `until`, or when the audio outruns the clock.
    async fn transcribe_widget_live(
        self,
        org: Uuid,
        sid: Uuid,
        session: Arc<Session>,
        mut rx: mpsc::Receiver<Vec<u8>>,
        until: Instant,
    ) {
        // However this ends (a panic too), the session is done and its decoder stops.
        let _done = Done(session.clone());
        let opened = Instant::now();
        let mut seg = Segmenter::default();
        let mut queue = VecDeque::new();
        let mut heard: i64 = 0;
        let mut opts = None;
        // Takes a piece of audio; false when it runs ahead of what anyone could have said.
        let mut push = |seg: &mut Segmenter, pcm: Vec<u8>, queue: &mut VecDeque<_>| {
            let ms = heard * 1000 / RATE as i64;
            heard += (pcm.len() / 2) as i64;
            enqueue(queue, seg.push(ms, &pcm));
            let ahead = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            ahead <= opened.elapsed() + AHEAD
        };
        let mut ended = false;
        loop {
            if session.stop.load(Ordering::SeqCst) {
                break;
            }
            while !ended && let Ok(pcm) = rx.try_recv() {
                if !push(&mut seg, pcm, &mut queue) {
                    tracing::info!(
                        "a widget recording arrived faster than speech: its live transcript ends"
                    );
                    session.stop.store(true, Ordering::SeqCst);
                    break;
                }
            }
            if session.stop.load(Ordering::SeqCst) {
                break;
            }
            if !queue.is_empty() {
                let batch = Batch::take(&mut queue);
                match self
                    .transcribe_widget_batch(org, sid, &session, &mut opts, batch)
                    .await
                {
                    Ok(()) => {}
                    Err(CoreError::TranscriptionUnavailable(_)) => break,
                    Err(e) => tracing::warn!(error = %e, "a live widget line was lost"),
                }
                continue;
            }
            if ended {
                break;
            }
            match tokio::time::timeout_at(until.into(), rx.recv()).await {
                Ok(Some(pcm)) => {
                    if !push(&mut seg, pcm, &mut queue) {
                        tracing::info!(
                            "a widget recording arrived faster than speech: its live transcript ends"
                        );
                        session.stop.store(true, Ordering::SeqCst);
                    }
                }
                // The stream ended (submitted, idle, undecodable), or the clock did: what
                // was said is finished, and nothing more is taken.
                Ok(None) | Err(_) => {
                    lock(&session.feed).end();
                    rx.close();
                    enqueue(&mut queue, seg.flush());
                    ended = true;
                }
            }
        }
    }

    async fn transcribe_widget_batch(
        &self,
        org: Uuid,
        sid: Uuid,
        session: &Session,
        opts: &mut Option<meetvault_whisper::DecodeOptions>,
        batch: Batch,
    ) -> Result<(), CoreError> {
        let opts = match opts {
            Some(o) => o.clone(),
            None => opts.insert(self.widget_live_options(org).await?).clone(),
        };
        // The session is its own party: its audio shares a window with no one's.
        let pieces = self
            .live_infer(sid, &session.stop, opts, batch.pcm.clone())
            .await?;
        if session.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
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
        // The one they wait for lets them all through.
        assert_eq!(f.accept(0, b"x").len(), MAX_EARLY + 1);
        for seq in 10..10 + MAX_EARLY as u32 {
            assert!(f.accept(seq, b"x").is_empty());
        }
        assert!(f.accept(30, b"x").is_empty());
        assert!(f.feeder.is_none(), "too many waiting: the stream ended");
        assert!(f.accept(9, b"x").is_empty(), "and takes nothing more");
    }
}
