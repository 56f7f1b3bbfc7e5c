//! Per-track audio capture: the in-page script (`capture.js`) sends every remote audio
//! track's PCM through a CDP binding; this side checks the per-launch token, resamples each
//! track to 16 kHz mono and yields [`CaptureEvent`]s in order.
//!
//! Tracks are keyed by document, peer connection (a per-document counter) and transceiver
//! `mid` — never by track or stream id, which SFUs reuse. The `msid` stream id comes with
//! [`CaptureEvent::TrackStarted`] so a recipe can map the track to a participant.
//!
//! The binding's name is random per capture and removed from the page's global object once
//! the script has taken it; every message carries a random token, compared in constant time.
//! A message without it is dropped and counted, never logged.

mod track;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rand::Rng as _;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tokio::sync::mpsc;

pub use track::{OUTPUT_RATE, TrackStats};

use crate::{BotError, Event, Page};
use track::{DecoderReading, Run, Track};

const SCRIPT: &str = include_str!("capture.js");

/// The longest run one message may carry, in samples (2 s at 48 kHz; the script sends 100 ms).
const MAX_RUN: usize = 96_000;

/// A remote audio track: which document of the tab (0 for the first page loaded, counting
/// up), which of its peer connections (in creation order) and which transceiver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TrackKey {
    /// The document, in order of first audio.
    pub doc: u32,
    /// The peer connection within the document, in creation order.
    pub pc: u32,
    /// The transceiver's `mid` (letters, digits, `-`, `_`, `.`).
    pub mid: String,
}

impl std::fmt::Display for TrackKey {
    /// `doc-pc-mid`, safe in a URL query.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.doc, self.pc, self.mid)
    }
}

/// 16 kHz mono PCM of one track.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// The track.
    pub track: TrackKey,
    /// Where the first sample sits, in ms since the capture was installed.
    pub start_ms: u64,
    /// The samples, at [`OUTPUT_RATE`].
    pub pcm16k: Vec<i16>,
}

/// What the capture reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureEvent {
    /// A remote audio track appeared.
    TrackStarted {
        /// Its key.
        track: TrackKey,
        /// The `msid` stream id the sender gave it (what a recipe maps to a participant).
        stream_id: Option<String>,
        /// The track's own id (unstable across SFUs; for diagnosis).
        track_id: String,
        /// When, in ms since the capture was installed.
        at_ms: u64,
    },
    /// Audio of a track.
    Audio(AudioChunk),
    /// A track ended (or the page or browser went away), with what it delivered.
    TrackEnded {
        /// Its key.
        track: TrackKey,
        /// Samples expected and received.
        stats: TrackStats,
    },
    /// The script reported a problem (no `MediaStreamTrackProcessor`, a track it could not
    /// read).
    ScriptError {
        /// The track concerned, if any.
        track: Option<TrackKey>,
        /// The page's message.
        message: String,
    },
}

/// A running capture on one tab. Its events end when the tab or the browser closes (after a
/// [`CaptureEvent::TrackEnded`] for every open track). Read them steadily: the page's audio
/// waits in memory until they are.
#[derive(Debug)]
pub struct Capture {
    events: mpsc::Receiver<CaptureEvent>,
    stats: Arc<Mutex<Shared>>,
    installed: f64,
}

#[derive(Debug, Default)]
struct Shared {
    tracks: HashMap<TrackKey, TrackStats>,
    rejected: u64,
    stopped: std::collections::HashSet<TrackKey>,
}

impl Capture {
    /// When the capture was installed, in ms since the Unix epoch: what every `start_ms` and
    /// `at_ms` counts from.
    pub fn installed_unix_ms(&self) -> u64 {
        self.installed as u64
    }

    /// The next event; `None` once the browser has closed and every track has ended.
    pub async fn next(&mut self) -> Option<CaptureEvent> {
        self.events.recv().await
    }

    /// What each track seen so far delivered (ended tracks included).
    pub fn stats(&self) -> HashMap<TrackKey, TrackStats> {
        self.lock().tracks.clone()
    }

    /// Stops capturing `track` from now on (a participant opted out): its audio is dropped
    /// as it arrives, never resampled or yielded; it still ends with a `TrackEnded`.
    pub fn stop_track(&self, track: &TrackKey) {
        self.lock().stopped.insert(track.clone());
    }

    /// Binding calls dropped for a missing or wrong token, or a malformed message.
    pub fn rejected(&self) -> u64 {
        self.lock().rejected
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Page {
    /// Installs the capture on this tab. Must come before the meeting page is loaded: the
    /// script runs in documents loaded afterwards.
    pub async fn install_capture(&self) -> Result<Capture, BotError> {
        // The thread's generator is not `Send`: done with it before the first await.
        let (binding, token) = {
            let mut rng = rand::rng();
            (
                format!("__mv{}", hex::encode(rng.random::<[u8; 8]>())),
                hex::encode(rng.random::<[u8; 16]>()),
            )
        };
        let mut calls = self.events("Runtime.bindingCalled");
        self.add_binding(&binding).await?;
        let script = SCRIPT
            .replace("__MEETVAULT_BINDING__", &binding)
            .replace("__MEETVAULT_TOKEN__", &token);
        self.add_init_script(&script).await?;
        let installed = unix_ms();
        let (tx, events) = mpsc::channel(1024);
        let stats = Arc::new(Mutex::new(Shared::default()));
        let mut state = State {
            token,
            installed,
            docs: HashMap::new(),
            tracks: HashMap::new(),
            shared: stats.clone(),
        };
        let session = self.session().to_owned();
        let mut detached = self.browser_events("Target.detachedFromTarget");
        tokio::spawn(async move {
            let mut handle = |call: Event| -> Vec<CaptureEvent> {
                if call.params["name"].as_str() != Some(binding.as_str()) {
                    return Vec::new();
                }
                state.handle(call.params["payload"].as_str().unwrap_or_default())
            };
            loop {
                let events = tokio::select! {
                    call = calls.recv() => match call {
                        Some(call) => handle(call),
                        None => break,
                    },
                    gone = detached.recv() => match gone {
                        Some(e) if e.params["sessionId"].as_str() != Some(session.as_str()) => {
                            continue
                        }
                        // The tab closed: what it sent before still counts.
                        _ => {
                            let mut events = Vec::new();
                            while let Ok(call) = calls.try_recv() {
                                events.extend(handle(call));
                            }
                            for event in events {
                                if tx.send(event).await.is_err() {
                                    return;
                                }
                            }
                            break;
                        }
                    },
                };
                for event in events {
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
            }
            for event in state.end_all() {
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(Capture {
            events,
            stats,
            installed,
        })
    }
}

/// One binding call from the script.
#[derive(Debug, Deserialize)]
struct Message {
    t: String,
    e: String,
    doc: Option<String>,
    pc: Option<u32>,
    mid: Option<String>,
    stream: Option<String>,
    track: Option<String>,
    wall: Option<f64>,
    ts: Option<f64>,
    rate: Option<u32>,
    n: Option<usize>,
    pcm: Option<String>,
    message: Option<String>,
    read: Option<f64>,
    decoded: Option<f64>,
    samples: Option<f64>,
    concealed: Option<f64>,
}

#[derive(Debug)]
struct State {
    token: String,
    installed: f64,
    docs: HashMap<String, u32>,
    tracks: HashMap<TrackKey, Track>,
    shared: Arc<Mutex<Shared>>,
}

impl State {
    fn handle(&mut self, payload: &str) -> Vec<CaptureEvent> {
        let message = serde_json::from_str::<Message>(payload)
            .ok()
            .filter(|m| bool::from(m.t.as_bytes().ct_eq(self.token.as_bytes())));
        let Some(message) = message else {
            self.reject("a binding call without the capture's token");
            return Vec::new();
        };
        match self.apply(message) {
            Ok(events) => events,
            Err(why) => {
                self.reject(why);
                Vec::new()
            }
        }
    }

    fn apply(&mut self, m: Message) -> Result<Vec<CaptureEvent>, &'static str> {
        let key = self.key(&m)?;
        let mut events = Vec::new();
        match (m.e.as_str(), key) {
            ("start", Some(key)) => {
                let at = (m.wall.unwrap_or(self.installed) - self.installed).max(0.0);
                // A track restarted under the same key ends the old one first.
                if let Some(mut old) = self.tracks.remove(&key) {
                    events.extend(old.finish().map(CaptureEvent::Audio));
                    events.push(CaptureEvent::TrackEnded {
                        track: key.clone(),
                        stats: old.stats(),
                    });
                }
                self.tracks.insert(key.clone(), Track::new(key.clone(), at));
                self.lock()
                    .tracks
                    .insert(key.clone(), TrackStats::default());
                events.push(CaptureEvent::TrackStarted {
                    track: key,
                    stream_id: m.stream,
                    track_id: m.track.unwrap_or_default(),
                    at_ms: at.round() as u64,
                });
            }
            ("audio", Some(key)) if self.lock().stopped.contains(&key) => {}
            ("audio", Some(key)) => {
                let (Some(ts), Some(rate), Some(n), Some(pcm)) = (m.ts, m.rate, m.n, m.pcm) else {
                    return Err("an audio message without ts, rate, n and pcm");
                };
                if !ts.is_finite() || !(8_000..=192_000).contains(&rate) || n > MAX_RUN {
                    return Err("an audio message with a bad timestamp, rate or length");
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(pcm)
                    .map_err(|_| "an audio message whose pcm is not base64")?;
                if bytes.len() != n * 2 {
                    return Err("an audio message whose pcm does not hold n samples");
                }
                let samples: Vec<i16> = bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                let Some(track) = self.tracks.get_mut(&key) else {
                    return Err("audio for a track that never started");
                };
                let chunks = track.push(Run {
                    ts_us: ts,
                    rate,
                    pcm: &samples,
                });
                let stats = track.stats();
                self.lock().tracks.insert(key, stats);
                events.extend(chunks.into_iter().map(CaptureEvent::Audio));
            }
            ("decoded", Some(key)) => {
                let (Some(read_us), Some(decoded_us), Some(decoded_samples), Some(concealed)) =
                    (m.read, m.decoded, m.samples, m.concealed)
                else {
                    return Err("a decoded message without read, decoded, samples and concealed");
                };
                // A reading can land after its track ended (it was being gathered): no harm.
                if let Some(track) = self.tracks.get_mut(&key) {
                    track.observe(DecoderReading {
                        read_us,
                        decoded_us,
                        decoded_samples,
                        concealed_samples: concealed,
                    });
                    let stats = track.stats();
                    self.lock().tracks.insert(key, stats);
                }
            }
            ("end", Some(key)) => {
                if let Some(mut track) = self.tracks.remove(&key) {
                    events.extend(track.finish().map(CaptureEvent::Audio));
                    events.push(CaptureEvent::TrackEnded {
                        track: key,
                        stats: track.stats(),
                    });
                }
            }
            ("error", track) => events.push(CaptureEvent::ScriptError {
                track,
                message: m.message.unwrap_or_default().chars().take(500).collect(),
            }),
            _ => return Err("a message of an unknown kind"),
        }
        Ok(events)
    }

    /// The message's track key, if it names one (a well-formed one).
    fn key(&mut self, m: &Message) -> Result<Option<TrackKey>, &'static str> {
        let (Some(doc), Some(pc), Some(mid)) = (&m.doc, m.pc, &m.mid) else {
            return Ok(None);
        };
        let valid = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if !valid(doc, 32) || !valid(mid, 64) {
            return Err("a track key with a malformed doc or mid");
        }
        let next = u32::try_from(self.docs.len()).map_err(|_| "too many documents")?;
        let doc = *self.docs.entry(doc.clone()).or_insert(next);
        Ok(Some(TrackKey {
            doc,
            pc,
            mid: mid.clone(),
        }))
    }

    fn end_all(&mut self) -> Vec<CaptureEvent> {
        let mut events = Vec::new();
        let mut keys: Vec<TrackKey> = self.tracks.keys().cloned().collect();
        keys.sort();
        for key in keys {
            if let Some(mut track) = self.tracks.remove(&key) {
                events.extend(track.finish().map(CaptureEvent::Audio));
                events.push(CaptureEvent::TrackEnded {
                    track: key,
                    stats: track.stats(),
                });
            }
        }
        events
    }

    fn reject(&mut self, why: &'static str) {
        let mut shared = self.lock();
        shared.rejected += 1;
        if shared.rejected.is_power_of_two() {
            tracing::warn!(rejected = shared.rejected, "capture dropped {why}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> State {
        State {
            token: "secret".into(),
            installed: 1_000.0,
            docs: HashMap::new(),
            tracks: HashMap::new(),
            shared: Arc::default(),
        }
    }

    fn audio(token: &str, ts: f64, samples: &[i16]) -> String {
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        json!({"t": token, "e": "audio", "doc": "ab12", "pc": 0, "mid": "0", "ts": ts,
               "rate": 48000, "n": samples.len(),
               "pcm": base64::engine::general_purpose::STANDARD.encode(bytes)})
        .to_string()
    }

    #[test]
    fn a_track_starts_streams_and_ends_under_its_key() {
        let mut state = state();
        let started = state.handle(
            &json!({"t": "secret", "e": "start", "doc": "ab12", "pc": 0, "mid": "0",
                    "stream": "stream-a", "track": "t1", "wall": 1_250.0})
            .to_string(),
        );
        let key = TrackKey {
            doc: 0,
            pc: 0,
            mid: "0".into(),
        };
        assert_eq!(
            started,
            vec![CaptureEvent::TrackStarted {
                track: key.clone(),
                stream_id: Some("stream-a".into()),
                track_id: "t1".into(),
                at_ms: 250,
            }]
        );
        let chunks = state.handle(&audio("secret", 5e6, &[1000; 4800]));
        assert!(matches!(&chunks[..], [CaptureEvent::Audio(c)] if c.start_ms == 250));
        let ended = state.handle(
            &json!({"t": "secret", "e": "end", "doc": "ab12", "pc": 0, "mid": "0"}).to_string(),
        );
        let Some(CaptureEvent::TrackEnded { stats, .. }) = ended.last() else {
            panic!("{ended:?}");
        };
        assert_eq!(stats.samples_received, 4800);
        assert_eq!(state.shared.lock().unwrap().rejected, 0);
    }

    #[test]
    fn a_stopped_track_yields_no_more_audio() {
        let mut state = state();
        state.handle(
            &json!({"t": "secret", "e": "start", "doc": "ab12", "pc": 0, "mid": "0"}).to_string(),
        );
        assert_eq!(state.handle(&audio("secret", 0.0, &[7; 4800])).len(), 1);
        let key = TrackKey {
            doc: 0,
            pc: 0,
            mid: "0".into(),
        };
        state.shared.lock().unwrap().stopped.insert(key);
        assert_eq!(state.handle(&audio("secret", 1e5, &[7; 4800])), vec![]);
        assert_eq!(state.shared.lock().unwrap().rejected, 0);
    }

    #[test]
    fn calls_without_the_token_or_malformed_are_dropped_and_counted() {
        let mut state = state();
        for payload in [
            audio("wrong", 0.0, &[0; 480]),
            "not json".to_string(),
            json!({"e": "start", "doc": "a", "pc": 0, "mid": "0"}).to_string(),
            // Right token, but a mid that could not go in a URL, and audio with no track.
            json!({"t": "secret", "e": "start", "doc": "a", "pc": 0, "mid": "a b"}).to_string(),
            audio("secret", 0.0, &[0; 480]),
        ] {
            assert_eq!(state.handle(&payload), vec![]);
        }
        assert_eq!(state.shared.lock().unwrap().rejected, 5);
    }

    #[test]
    fn track_keys_print_safely_for_a_query() {
        let key = TrackKey {
            doc: 1,
            pc: 2,
            mid: "audio_0".into(),
        };
        assert_eq!(key.to_string(), "1-2-audio_0");
    }
}
