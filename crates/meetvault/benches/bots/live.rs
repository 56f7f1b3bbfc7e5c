//! Live-segment latency: how long after it was spoken a live transcript segment shows up on
//! the meeting's event stream (`GET /api/v1/meetings/{id}/events`, Server-Sent Events).
//!
//! A `live_segment` event's `end_ms` counts from the bot's audio clock (`audio_started_at` in
//! `GET /api/v1/bots/{id}`), so its spoken end is that plus `end_ms`; each event's time of
//! receipt is kept and the latencies are computed once the clock is known. With no live event
//! the bench prints "n/a (no live segments)".

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::task::JoinHandle;

/// Watches one meeting's event stream for live segments until [`LiveWatch::finish`].
#[derive(Debug)]
pub struct LiveWatch {
    /// (received at, segment end_ms), Unix ms and ms on the bot's audio clock.
    seen: Arc<Mutex<Vec<(i64, i64)>>>,
    task: JoinHandle<()>,
}

impl LiveWatch {
    /// Opens `url` (the meeting's events) with `cookie` and starts reading.
    pub fn start(client: reqwest::Client, url: String, cookie: String) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let out = seen.clone();
        let task = tokio::spawn(async move {
            let Ok(mut response) = client
                .get(&url)
                .header("cookie", cookie)
                .header("accept", "text/event-stream")
                .send()
                .await
            else {
                return;
            };
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(str::trim_start)
                        .collect();
                    let Ok(event) = serde_json::from_str::<Value>(&data) else {
                        continue;
                    };
                    if let Some(end_ms) = live_end_ms(&event)
                        && let Ok(mut l) = out.lock()
                    {
                        l.push((now_ms(), end_ms));
                    }
                }
            }
        });
        LiveWatch { seen, task }
    }

    /// Stops watching; the latencies seen (seconds), given the bot's audio clock (Unix ms).
    pub fn finish(self, audio_started_ms: Option<i64>) -> Vec<f64> {
        self.task.abort();
        let Some(clock) = audio_started_ms else {
            return Vec::new();
        };
        self.seen
            .lock()
            .map(|l| {
                l.iter()
                    .map(|(at, end)| (at - (clock + end)) as f64 / 1000.0)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A live segment's end (ms on the bot's audio clock), if `event` is one.
fn live_end_ms(event: &Value) -> Option<i64> {
    (event["type"] == "live_segment").then(|| event["end_ms"].as_i64())?
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// "median s (p90 s, n segments)", or "n/a (no live segments)".
pub fn summary(latencies: &[f64]) -> String {
    if latencies.is_empty() {
        return "n/a (no live segments)".into();
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!(
        "{:.1} s (p90 {:.1} s, {} segs)",
        at(0.5),
        at(0.9),
        sorted.len()
    )
}
