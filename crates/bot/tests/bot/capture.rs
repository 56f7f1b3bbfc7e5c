//! Real WebRTC into the bot's tab: two sender browsers, each playing its own espeak-ng WAV
//! through Chromium's fake microphone, connect to the bot's page in one private network
//! namespace; the capture yields one track per sender, each a faithful copy of its source.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use meetvault_bot::{Browser, CaptureEvent, Page, TrackKey, TrackStats};

use crate::support::{Netns, speech, usage};

const PAGE: &str = "<!doctype html><meta charset=utf-8><title>meetvault bot test</title><body>";

/// Waits until ICE gathering is complete (loopback candidates only, so it is quick).
const GATHERED: &str = "const gathered = (pc) => new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') done();
    });
});";

/// A sender's offer: one send-only audio transceiver in a stream, sending silence at first.
/// The fake microphone starts its file when opened, so it is opened once connected, and only
/// after the receiver's jitter buffer has settled on the silence: while it settles, WebRTC
/// time-stretches what it plays (as in any call), which no capture can undo.
async fn offer(sender: &Page) -> (String, String) {
    let out = sender
        .evaluate(&format!(
            "(async () => {{ {GATHERED}
                const pc = new RTCPeerConnection();
                const stream = new MediaStream();
                const context = new AudioContext();
                const silence = context.createMediaStreamDestination();
                const source = context.createConstantSource();
                source.offset.value = 0;
                source.connect(silence);
                source.start();
                window.tx = pc.addTransceiver(silence.stream.getAudioTracks()[0],
                    {{direction: 'sendonly', streams: [stream]}});
                window.pc = pc;
                await pc.setLocalDescription(await pc.createOffer());
                await gathered(pc);
                return [pc.localDescription.sdp, stream.id];
            }})()"
        ))
        .await
        .unwrap();
    (
        out[0].as_str().unwrap().to_owned(),
        out[1].as_str().unwrap().to_owned(),
    )
}

/// The bot page answers an offer with a new peer connection, as a meeting page would.
async fn answer(bot: &Page, offer: &str) -> String {
    bot.evaluate(&format!(
        "(async (offer) => {{ {GATHERED}
            const pc = new RTCPeerConnection();
            (window.pcs ||= []).push(pc);
            await pc.setRemoteDescription({{type: 'offer', sdp: offer}});
            await pc.setLocalDescription(await pc.createAnswer());
            await gathered(pc);
            return pc.localDescription.sdp;
        }})({})",
        serde_json::to_string(offer).unwrap()
    ))
    .await
    .unwrap()
    .as_str()
    .unwrap()
    .to_owned()
}

/// Completes the sender's connection, then opens its microphone (starting its file).
async fn connect_and_speak(sender: &Page, answer: &str) {
    sender
        .evaluate(&format!(
            "(async (answer) => {{
                await pc.setRemoteDescription({{type: 'answer', sdp: answer}});
                while (pc.connectionState !== 'connected') {{
                    if (pc.connectionState === 'failed') throw new Error('ICE failed');
                    await new Promise((r) => setTimeout(r, 20));
                }}
                await new Promise((r) => setTimeout(r, 1500));
                const media = await navigator.mediaDevices.getUserMedia({{audio: {{
                    echoCancellation: false, noiseSuppression: false, autoGainControl: false}}}});
                await tx.sender.replaceTrack(media.getAudioTracks()[0]);
            }})({})",
            serde_json::to_string(answer).unwrap()
        ))
        .await
        .unwrap();
}

/// A sender browser in `netns` whose microphone plays `wav` once.
async fn sender(netns: &Netns, wav: &Path) -> (Browser, Page) {
    let browser = Browser::launch(netns.options(&[
        "--use-fake-ui-for-media-stream".into(),
        "--use-fake-device-for-media-stream".into(),
        format!("--use-file-for-fake-audio-capture={}%noloop", wav.display()),
    ]))
    .await
    .unwrap();
    let page = browser.new_page().await.unwrap();
    page.navigate(&netns.url("/sender"), Duration::from_secs(20))
        .await
        .unwrap();
    (browser, page)
}

#[derive(Debug, Default)]
struct Recorded {
    stream_id: Option<String>,
    /// 16 kHz samples placed at their `start_ms`.
    pcm: Vec<f32>,
    stats: Option<TrackStats>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_are_captured_as_two_faithful_tracks() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _alone = crate::session::CORES.write().await;
    let work = tempfile::tempdir().unwrap();
    let sources = [
        speech(
            work.path(),
            "alice",
            "en-us",
            "The quarterly numbers look strong. We should ship the new release on Friday.",
        ),
        speech(
            work.path(),
            "bob",
            "en-gb-scotland",
            "I disagree. The migration needs another week of testing before anyone ships it.",
        ),
    ];
    let pages = HashMap::from([
        ("/bot".to_string(), PAGE.to_string()),
        ("/sender".to_string(), PAGE.to_string()),
    ]);
    let netns = Netns::start(pages).await;

    let bot = Browser::launch(netns.options(&[])).await.unwrap();
    let page = bot.new_page().await.unwrap();
    let mut capture = page.install_capture().await.unwrap();
    page.navigate(&netns.url("/bot"), Duration::from_secs(20))
        .await
        .unwrap();

    let mut senders = Vec::new();
    let mut stream_ids = Vec::new();
    let mut before = Vec::new();
    for wav in &sources {
        let (browser, sender_page) = sender(&netns, wav).await;
        let (offer, stream_id) = offer(&sender_page).await;
        let answer = answer(&page, &offer).await;
        connect_and_speak(&sender_page, &answer).await;
        let pc = senders.len();
        before.push(jitter_buffer(&page, pc).await);
        senders.push((browser, sender_page));
        stream_ids.push(stream_id);
    }

    // Record while both speak (each source is under 6 s), then hang up.
    let mut tracks: HashMap<TrackKey, Recorded> = HashMap::new();
    let (cpu_before, _) = usage(bot.pid());
    let until = tokio::time::Instant::now() + Duration::from_secs(9);
    while let Ok(Some(event)) = tokio::time::timeout_at(until, capture.next()).await {
        record(&mut tracks, event);
    }
    let (cpu_after, pss) = usage(bot.pid());
    eprintln!(
        "the bot's Chromium receiving two tracks: {:.3} core, {pss:.0} MiB PSS",
        (cpu_after - cpu_before) / 9.0
    );
    let mut stretched = Vec::new();
    for (pc, before) in before.iter().enumerate() {
        let after = jitter_buffer(&page, pc).await;
        // Samples WebRTC made up or cut (48 kHz) while the sender spoke, in 16 kHz samples.
        stretched.push(after.iter().zip(before).map(|(a, b)| a - b).sum::<f64>() / 3.0);
    }
    // What WebRTC decoded for each track so far: the capture must have read all of it.
    let mut decoded = Vec::new();
    for pc in 0..senders.len() {
        decoded.push(decoded_seconds(&page, pc).await);
    }
    page.evaluate("window.pcs.forEach((pc) => pc.close()); true")
        .await
        .unwrap();
    while tracks.values().any(|t| t.stats.is_none()) {
        let event = tokio::time::timeout(Duration::from_secs(10), capture.next())
            .await
            .expect("every track ends once its connection closes")
            .expect("the capture runs while the browser does");
        record(&mut tracks, event);
    }
    assert_eq!(capture.rejected(), 0);
    // Closing the tab ends the capture.
    page.close().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), capture.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");

    assert_eq!(tracks.len(), 2, "one track per sender: {:?}", tracks.keys());
    for (((source, stream_id), stretched), decoded) in sources
        .iter()
        .zip(&stream_ids)
        .zip(&stretched)
        .zip(&decoded)
    {
        let (key, track) = tracks
            .iter()
            .find(|(_, t)| t.stream_id.as_ref() == Some(stream_id))
            .unwrap_or_else(|| panic!("no track carries stream {stream_id}"));
        let stats = track.stats.unwrap();
        assert!(
            stats.decoder_measured && stats.loss_percent() < 0.1,
            "track {key} lost {:.3}% ({stats:?})",
            stats.loss_percent()
        );
        // Checked against WebRTC directly too (up to three 10 ms frames in flight).
        let received = stats.samples_received as f64 / f64::from(stats.source_rate);
        assert!(
            received >= decoded - 0.03,
            "track {key}: {received:.3} s captured, WebRTC decoded {decoded:.3} s"
        );
        // Where the playout clock skipped, silence keeps the track on time: later audio lands
        // that much later, as if WebRTC had stretched it.
        let stretched = &(stretched + stats.gap_samples as f64 / 3.0);
        let (reference, _) = meetvault_audio::decode_file(
            source,
            &meetvault_audio::Limits {
                max_duration_secs: 60.0,
            },
        )
        .unwrap();
        let (lag, correlation) = best_alignment(&track.pcm, &reference);
        let (captured_span, source_span) = (active_span(&track.pcm), active_span(&reference));
        let radius = *stretched as usize + 960;
        let windows = by_window(&track.pcm, &reference, lag, radius);
        eprintln!(
            "track {key}: {stats:?}, lag {lag} samples, correlation {correlation:.3}, speech \
             {captured_span} vs {source_span} samples, WebRTC stretched {stretched} samples; \
             by half second (local lag, correlation): {windows:?}"
        );
        let error = (captured_span as f64 - source_span as f64).abs();
        // Even a few samples stretched mid-track (a 3.5 ms shift, CI) decorrelate speech as a
        // whole, so only a track played exactly as sent is judged whole.
        if *stretched < 1.0 && stats.discontinuities == 0 {
            // WebRTC played the audio as sent: the capture must be the source itself.
            assert!(
                correlation >= 0.9,
                "track {key} does not match its source: correlation {correlation:.3}"
            );
            assert!(
                error < 0.01 * source_span as f64,
                "track {key}: {captured_span} samples of speech, the source has {source_span}"
            );
        } else {
            // Starved of CPU, WebRTC's jitter buffer concealed or time-stretched some audio
            // (upstream of any capture): every half second must still match where it landed,
            // and the length differ from the source's only by what was stretched.
            let mean = windows.iter().map(|(_, c)| c).sum::<f64>() / windows.len() as f64;
            assert!(
                mean >= 0.9
                    && windows
                        .iter()
                        .all(|(lag, _)| lag.unsigned_abs() as f64 <= stretched + 160.0),
                "track {key} does not match its source half second by half second"
            );
            assert!(
                error < 0.01 * source_span as f64 + stretched,
                "track {key}: {captured_span} samples of speech, the source has {source_span} \
                 (and WebRTC stretched {stretched})"
            );
        }
    }
    drop(senders);
}

fn record(tracks: &mut HashMap<TrackKey, Recorded>, event: CaptureEvent) {
    match event {
        CaptureEvent::TrackStarted {
            track, stream_id, ..
        } => {
            tracks.entry(track).or_default().stream_id = stream_id;
        }
        CaptureEvent::Audio(chunk) => {
            let track = tracks.entry(chunk.track).or_default();
            let at = chunk.start_ms as usize * 16;
            if track.pcm.len() < at + chunk.pcm16k.len() {
                track.pcm.resize(at + chunk.pcm16k.len(), 0.0);
            }
            for (i, s) in chunk.pcm16k.iter().enumerate() {
                track.pcm[at + i] = f32::from(*s) / 32768.0;
            }
        }
        CaptureEvent::TrackEnded { track, stats } => {
            tracks.entry(track).or_default().stats = Some(stats);
        }
        CaptureEvent::ScriptError { track, message } => {
            panic!("the capture script failed on {track:?}: {message}")
        }
    }
}

/// Mean absolute level per 10 ms block.
fn envelope(pcm: &[f32]) -> Vec<f32> {
    pcm.chunks(160)
        .map(|block| block.iter().map(|s| s.abs()).sum::<f32>() / block.len() as f32)
        .collect()
}

/// Samples from the first to the last 10 ms block louder than a tenth of the loudest.
fn active_span(pcm: &[f32]) -> usize {
    let env = envelope(pcm);
    let peak = env.iter().copied().fold(0.0, f32::max);
    let loud: Vec<usize> = (0..env.len()).filter(|i| env[*i] > peak / 10.0).collect();
    match (loud.first(), loud.last()) {
        (Some(first), Some(last)) => (last - first + 1) * 160,
        _ => 0,
    }
}

/// Where `reference` sits in `captured` (coarse by envelope, then to the sample) and the
/// normalised cross-correlation there.
pub(crate) fn best_alignment(captured: &[f32], reference: &[f32]) -> (usize, f64) {
    assert!(
        captured.len() > reference.len(),
        "captured {} samples, less than the source's {}",
        captured.len(),
        reference.len()
    );
    let (cap_env, ref_env) = (envelope(captured), envelope(reference));
    let coarse = (0..=cap_env.len().saturating_sub(ref_env.len()))
        .max_by(|a, b| {
            let score = |lag: &usize| -> f32 {
                ref_env
                    .iter()
                    .zip(&cap_env[*lag..])
                    .map(|(r, c)| r * c)
                    .sum()
            };
            score(a).total_cmp(&score(b))
        })
        .unwrap_or(0)
        * 160;
    let last = captured.len() - reference.len();
    (coarse.saturating_sub(480)..=(coarse + 480).min(last))
        .map(|lag| {
            (
                lag,
                correlation(&captured[lag..lag + reference.len()], reference),
            )
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

/// What the bot page's jitter buffer for peer connection `pc` has concealed, inserted and
/// removed so far (48 kHz samples).
/// Seconds of audio WebRTC decoded so far on peer connection `pc` of the bot's page.
async fn decoded_seconds(page: &Page, pc: usize) -> f64 {
    page.evaluate(&format!(
        "(async () => {{
            let found = 0;
            (await window.pcs[{pc}].getStats()).forEach((s) => {{
                if (s.type === 'inbound-rtp' && s.kind === 'audio') found = s.totalSamplesDuration;
            }});
            return found;
        }})()"
    ))
    .await
    .unwrap()
    .as_f64()
    .unwrap()
}

async fn jitter_buffer(page: &Page, pc: usize) -> [f64; 3] {
    let stats = page
        .evaluate(&format!(
            "(async () => {{
                let found = [0, 0, 0];
                (await window.pcs[{pc}].getStats()).forEach((s) => {{
                    if (s.type === 'inbound-rtp' && s.kind === 'audio') found = [
                        s.concealedSamples || 0,
                        s.insertedSamplesForDeceleration || 0,
                        s.removedSamplesForAcceleration || 0,
                    ];
                }});
                return found;
            }})()"
        ))
        .await
        .unwrap();
    [0, 1, 2].map(|i| stats[i].as_f64().unwrap())
}

/// Each half second of `reference` against `captured` within `radius` of `lag`: where it fits
/// best (relative to `lag`) and how well — shows time-stretching or a lost stretch.
pub(crate) fn by_window(
    captured: &[f32],
    reference: &[f32],
    lag: usize,
    radius: usize,
) -> Vec<(i64, f64)> {
    (0..reference.len().saturating_sub(8000))
        .step_by(8000)
        .map(|at| {
            let r = &reference[at..at + 8000];
            let range =
                (lag + at).saturating_sub(radius)..=(lag + at + radius).min(captured.len() - 8000);
            let (best, c) = range
                .map(|l| (l, correlation(&captured[l..l + 8000], r)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((lag + at, 0.0));
            (best as i64 - (lag + at) as i64, (c * 100.0).round() / 100.0)
        })
        .collect()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1e-12)
}
