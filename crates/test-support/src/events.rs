//! A meeting's event stream (`GET /api/v1/meetings/{id}/events`, Server-Sent Events) read in
//! the background, for tests that wait on what a meeting announces.

use crate::TestApp;

impl TestApp {
    /// Opens `meeting`'s event stream as the user of session cookie `cookie` and hands `on` the
    /// data (a JSON object) of every event named `event`, in order, until the stream ends.
    pub async fn on_events(
        &self,
        cookie: &str,
        meeting: &str,
        event: &'static str,
        mut on: impl FnMut(serde_json::Value) + Send + 'static,
    ) {
        let mut response = self
            .client
            .get(self.url(&format!("/api/v1/meetings/{meeting}/events")))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let name = format!("event: {event}");
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if !block.lines().any(|l| l.trim() == name) {
                        continue;
                    }
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(str::trim)
                        .collect();
                    on(serde_json::from_str(&data).unwrap());
                }
            }
        });
    }
}
