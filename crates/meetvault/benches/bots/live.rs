//! Live-segment latency: how long after it was spoken a live transcript segment shows up on
//! the meeting's event stream (`GET /api/v1/meetings/{id}/events`, Server-Sent Events).
//!
//! Live segments are not settled yet, so this is deliberately small and the one place to adjust:
//! an event counts as live when its JSON has `"live": true` or its `type` contains `live`;
//! its spoken end is taken as the bot's `recording` transition (a `bot_state` event on the same
//! stream, Unix ms) plus the segment's `end_ms`. With no live event the bench prints
//! "n/a (no live segments)".

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::task::JoinHandle;

/// Watches one meeting's event stream for live segments until [`LiveWatch::finish`].
#[derive(Debug)]
pub struct LiveWatch {
    latencies: Arc<Mutex<Vec<f64>>>,
    task: JoinHandle<()>,
}

impl LiveWatch {
    /// Opens `url` (the meeting's events) with `cookie` and starts reading.
    pub fn start(client: reqwest::Client, url: String, cookie: String) -> Self {
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let out = latencies.clone();
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
            let mut anchor_ms: Option<i64> = None;
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
                    if let Some(latency) = observe(&event, &mut anchor_ms, now_ms())
                        && let Ok(mut l) = out.lock()
                    {
                        l.push(latency);
                    }
                }
            }
        });
        LiveWatch { latencies, task }
    }

    /// Stops watching; the latencies seen, in seconds.
    pub fn finish(self) -> Vec<f64> {
        self.task.abort();
        self.latencies.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Updates the recording anchor from a `bot_state` event, or returns a live segment's latency
/// (seconds from its spoken end to `now_ms`).
fn observe(event: &Value, anchor_ms: &mut Option<i64>, now_ms: i64) -> Option<f64> {
    let kind = event["type"].as_str().unwrap_or_default();
    if kind == "bot_state" && event["state"] == "recording" {
        *anchor_ms = event["at"].as_i64();
        return None;
    }
    let live = event["live"] == Value::Bool(true) || kind.contains("live");
    if !live {
        return None;
    }
    let spoken_end = (*anchor_ms)? + event["end_ms"].as_i64()?;
    Some((now_ms - spoken_end) as f64 / 1000.0)
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
