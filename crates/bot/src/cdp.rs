//! The DevTools protocol over Chromium's `--remote-debugging-pipe`: JSON messages, each ended
//! by a NUL byte, on the browser's fds 3 (commands in) and 4 (replies and events out). No port
//! is opened, so nothing but this process can drive the browser.
//!
//! Commands carry ids and a timeout; a reply wakes its caller. Everything else is an event,
//! routed to every subscriber whose session (and method prefix) matches, through unbounded
//! channels: an event is never dropped for a slow reader (audio arrives as events).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

use crate::BotError;

/// The longest message accepted from the browser (a full-page screenshot fits easily).
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// One protocol event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event's name (`Runtime.bindingCalled`).
    pub method: String,
    /// The session it belongs to (`None` for the browser's own).
    pub session: Option<String>,
    /// Its parameters.
    pub params: Value,
}

type Writer = Box<dyn AsyncWrite + Send + Unpin>;
type Reply = Result<Value, BotError>;

#[derive(Debug)]
struct Subscriber {
    session: Option<String>,
    prefix: String,
    tx: mpsc::UnboundedSender<Event>,
}

#[derive(Default, Debug)]
struct Shared {
    pending: HashMap<u64, (String, oneshot::Sender<Reply>)>,
    subscribers: Vec<Subscriber>,
}

/// A connection to one browser. Cheap to clone; every clone talks to the same browser.
#[derive(Clone)]
pub struct Cdp {
    writer: Arc<tokio::sync::Mutex<Writer>>,
    shared: Arc<Mutex<Shared>>,
    next_id: Arc<AtomicU64>,
    closed: watch::Receiver<bool>,
    timeout: Duration,
}

impl std::fmt::Debug for Cdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cdp")
            .field("closed", &*self.closed.borrow())
            .finish_non_exhaustive()
    }
}

impl Cdp {
    /// Speaks the protocol over `writer` (the browser's fd 3) and `reader` (its fd 4); each
    /// command fails after `timeout`. Spawns the reading task on the current runtime.
    pub fn start<W, R>(writer: W, mut reader: R, timeout: Duration) -> Cdp
    where
        W: AsyncWrite + Send + Unpin + 'static,
        R: AsyncRead + Send + Unpin + 'static,
    {
        let (closed_tx, closed) = watch::channel(false);
        let cdp = Cdp {
            writer: Arc::new(tokio::sync::Mutex::new(Box::new(writer))),
            shared: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            closed,
            timeout,
        };
        let shared = cdp.shared.clone();
        tokio::spawn(async move {
            let mut buffer: Vec<u8> = Vec::new();
            let mut chunk = vec![0u8; 256 * 1024];
            let mut scanned = 0;
            loop {
                let n = match reader.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                buffer.extend_from_slice(&chunk[..n]);
                let mut start = 0;
                while let Some(end) = buffer[scanned..].iter().position(|b| *b == 0) {
                    let end = scanned + end;
                    dispatch(&shared, &buffer[start..end]);
                    start = end + 1;
                    scanned = start;
                }
                buffer.drain(..start);
                scanned = buffer.len();
                if buffer.len() > MAX_MESSAGE {
                    tracing::error!("the browser sent a message over {MAX_MESSAGE} bytes");
                    break;
                }
            }
            // The browser is gone: every waiting command and every subscriber learns it.
            let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
            for (_, (method, reply)) in shared.pending.drain() {
                let _ = reply.send(Err(BotError::BrowserClosed(method)));
            }
            shared.subscribers.clear();
            let _ = closed_tx.send(true);
        });
        cdp
    }

    /// Sends `method` to `session` (or to the browser itself) and returns its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, BotError> {
        self.call_with_timeout(session, method, params, self.timeout)
            .await
    }

    /// [`Cdp::call`] with its own timeout (a slow screenshot, a long navigation).
    pub async fn call_with_timeout(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, BotError> {
        if self.is_closed() {
            return Err(BotError::BrowserClosed(method.to_owned()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.lock().pending.insert(id, (method.to_owned(), tx));
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        let written = {
            let mut writer = self.writer.lock().await;
            match writer.write_all(&bytes).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            }
        };
        if written.is_err() {
            self.lock().pending.remove(&id);
            return Err(BotError::BrowserClosed(method.to_owned()));
        }
        let reply = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply?,
            Ok(Err(_)) => return Err(BotError::BrowserClosed(method.to_owned())),
            Err(_) => {
                self.lock().pending.remove(&id);
                return Err(BotError::Timeout {
                    method: method.to_owned(),
                    timeout,
                });
            }
        };
        if let Some(error) = reply.get("error") {
            let message = match (error["code"].as_i64(), error["message"].as_str()) {
                (Some(code), Some(text)) => format!("{text} ({code})"),
                _ => error.to_string(),
            };
            return Err(BotError::Protocol {
                method: method.to_owned(),
                message,
            });
        }
        Ok(reply.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Every later event of `session` (`None`: of every session) whose method starts with
    /// `prefix` (`""` for all), in order, until the browser closes.
    pub fn subscribe(&self, session: Option<&str>, prefix: &str) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        if !self.is_closed() {
            self.lock().subscribers.push(Subscriber {
                session: session.map(str::to_owned),
                prefix: prefix.to_owned(),
                tx,
            });
        }
        rx
    }

    /// Whether the browser has closed its end of the pipe.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves once the browser has closed its end of the pipe (exited or crashed).
    pub async fn closed(&self) {
        let mut closed = self.closed.clone();
        let _ = closed.wait_for(|closed| *closed).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Routes one message: a reply to its caller, an event to its subscribers.
fn dispatch(shared: &Mutex<Shared>, bytes: &[u8]) {
    let Ok(mut message) = serde_json::from_slice::<Value>(bytes) else {
        tracing::warn!(
            len = bytes.len(),
            "the browser sent a message that is not JSON"
        );
        return;
    };
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        if let Some((_, reply)) = shared.pending.remove(&id) {
            let _ = reply.send(Ok(message));
        }
        return;
    }
    let Some(method) = message
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let session = message
        .get("sessionId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let params = message
        .get_mut("params")
        .map(Value::take)
        .unwrap_or(Value::Null);
    shared.subscribers.retain(|s| !s.tx.is_closed());
    let matching: Vec<&Subscriber> = shared
        .subscribers
        .iter()
        .filter(|s| method.starts_with(&s.prefix) && (s.session.is_none() || s.session == session))
        .collect();
    // The last subscriber takes the parameters; the others get copies.
    if let Some((last, rest)) = matching.split_last() {
        for s in rest {
            let _ = s.tx.send(Event {
                method: method.clone(),
                session: session.clone(),
                params: params.clone(),
            });
        }
        let _ = last.tx.send(Event {
            method,
            session,
            params,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake browser on an in-memory duplex pipe: answers every command with its own params.
    #[tokio::test]
    async fn replies_match_their_commands_and_events_reach_their_session() {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (our_read, our_write) = tokio::io::split(ours);
        let cdp = Cdp::start(our_write, our_read, Duration::from_secs(5));
        let (mut their_read, mut their_write) = tokio::io::split(theirs);
        let mut page_events = cdp.subscribe(Some("S1"), "Runtime.");
        tokio::spawn(async move {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = their_read.read(&mut chunk).await.unwrap();
                if n == 0 {
                    return;
                }
                buffer.extend_from_slice(&chunk[..n]);
                while let Some(end) = buffer.iter().position(|b| *b == 0) {
                    let command: Value = serde_json::from_slice(&buffer[..end]).unwrap();
                    buffer.drain(..=end);
                    // An event for another session, one for ours, then the reply.
                    let mut out = Vec::new();
                    for session in ["S2", "S1"] {
                        out.extend(
                            json!({"method": "Runtime.bindingCalled", "sessionId": session,
                                   "params": {"payload": session}})
                            .to_string()
                            .into_bytes(),
                        );
                        out.push(0);
                    }
                    let reply = if command["method"] == "Bad.method" {
                        json!({"id": command["id"], "error": {"code": -32601, "message": "nope"}})
                    } else {
                        json!({"id": command["id"], "result": command["params"]})
                    };
                    out.extend(reply.to_string().into_bytes());
                    out.push(0);
                    their_write.write_all(&out).await.unwrap();
                }
            }
        });
        let (a, b) = tokio::join!(
            cdp.call(None, "A.a", json!({"n": 1})),
            cdp.call(Some("S1"), "B.b", json!({"n": 2}))
        );
        assert_eq!(a.unwrap()["n"], 1);
        assert_eq!(b.unwrap()["n"], 2);
        let error = cdp.call(None, "Bad.method", json!({})).await.unwrap_err();
        assert!(error.to_string().contains("nope (-32601)"), "{error}");
        for _ in 0..3 {
            let event = page_events.recv().await.unwrap();
            assert_eq!(event.session.as_deref(), Some("S1"));
            assert_eq!(event.params["payload"], "S1");
        }
    }

    #[tokio::test]
    async fn a_closed_browser_fails_waiting_commands() {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (our_read, our_write) = tokio::io::split(ours);
        let cdp = Cdp::start(our_write, our_read, Duration::from_secs(5));
        let call = cdp.call(None, "Browser.getVersion", json!({}));
        drop(theirs);
        assert!(matches!(call.await, Err(BotError::BrowserClosed(_))));
        cdp.closed().await;
        assert!(cdp.is_closed());
    }
}
