//! A request body on its way into the blob store: counted and cut off past its size limit,
//! stopped when it sends nothing for `server.body_idle_timeout_secs`, and, when the store write
//! fails, blamed on the right side — the caller's (too large, stalled, broken off) or ours.
//! Holds no more than the chunk in hand.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use meetvault_store::StoreError;

use crate::CoreError;

/// Why the body stopped before its end.
#[derive(Debug, Clone)]
enum Fault {
    TooLarge,
    Stalled,
    Broken(String),
}

#[derive(Debug, Default)]
struct State {
    size: u64,
    fault: Option<Fault>,
}

/// What became of a watched body; read it once the body's reader has stopped.
#[derive(Debug, Clone)]
pub struct Intake {
    max: u64,
    idle: Duration,
    state: Arc<Mutex<State>>,
}

impl Intake {
    /// Watches `body`: at most `max` bytes, and no silence longer than `idle`.
    pub(crate) fn watch<S>(
        body: S,
        max: u64,
        idle: Duration,
    ) -> (
        Self,
        impl Stream<Item = Result<Bytes, std::io::Error>> + Send + use<S>,
    )
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let intake = Self {
            max,
            idle,
            state: Arc::default(),
        };
        let watcher = intake.clone();
        let stream = futures::stream::unfold(
            (Box::pin(body), watcher, false),
            |(mut body, watcher, done)| async move {
                if done {
                    return None;
                }
                let item = match tokio::time::timeout(watcher.idle, body.next()).await {
                    Err(_) => Err(watcher.fail(Fault::Stalled)),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => Err(watcher.fail(Fault::Broken(broken(&e)))),
                    Ok(Some(Ok(chunk))) => watcher.count(chunk),
                };
                let stop = item.is_err();
                Some((item, (body, watcher, stop)))
            },
        );
        (intake, stream)
    }

    fn count(&self, chunk: Bytes) -> Result<Bytes, std::io::Error> {
        let total = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.size += chunk.len() as u64;
            state.size
        };
        if total > self.max {
            return Err(self.fail(Fault::TooLarge));
        }
        Ok(chunk)
    }

    fn fail(&self, fault: Fault) -> std::io::Error {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.fault.get_or_insert(fault);
        std::io::Error::other("the request body was stopped")
    }

    /// Bytes of body read so far.
    pub(crate) fn size(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).size
    }

    /// The error to report for a failed store write: the body's fault if it had one.
    pub(crate) fn blame(&self, error: StoreError) -> CoreError {
        self.fault().unwrap_or_else(|| error.into())
    }

    /// Why the body was stopped (too large, stalled, broken off), if it was.
    pub fn fault(&self) -> Option<CoreError> {
        let fault = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fault
            .clone()?;
        Some(match fault {
            Fault::TooLarge => CoreError::TooLarge { limit: self.max },
            Fault::Stalled => CoreError::BodyStalled {
                idle_secs: self.idle.as_secs(),
            },
            Fault::Broken(message) => CoreError::BadBody(message),
        })
    }
}

/// Reads a whole body into memory: at most `max` bytes (`TooLarge` past it), no silence
/// longer than `idle` (`BodyStalled`), a broken-off body `BadBody`.
pub(crate) async fn read_all<S>(body: S, max: u64, idle: Duration) -> Result<Vec<u8>, CoreError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
{
    let (intake, stream) = Intake::watch(body, max, idle);
    let mut stream = Box::pin(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => out.extend_from_slice(&c),
            Err(_) => {
                return Err(intake.fault().unwrap_or_else(|| {
                    CoreError::BadBody("the request body broke off before its end".into())
                }));
            }
        }
    }
    Ok(out)
}

/// What to tell the caller of a body that could not be read: the reader's own words when it
/// marks the body as malformed (`InvalidData`, e.g. bad multipart framing), else a plain note.
fn broken(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidData {
        e.to_string()
    } else {
        "the request body broke off before its end".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(n: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
        futures::stream::iter((0..n).map(|_| Ok(Bytes::from_static(&[7u8; 10]))))
    }

    #[tokio::test]
    async fn a_body_within_its_limit_passes_whole_and_is_counted() {
        let (intake, s) = Intake::watch(chunks(5), 50, Duration::from_secs(5));
        let got: Vec<_> = s.collect().await;
        assert!(got.iter().all(Result::is_ok));
        assert_eq!(intake.size(), 50);
    }

    #[tokio::test]
    async fn a_body_past_its_limit_is_stopped_and_blamed_as_too_large() {
        let (intake, s) = Intake::watch(chunks(6), 50, Duration::from_secs(5));
        let got: Vec<_> = s.collect().await;
        assert!(got.last().is_some_and(Result::is_err));
        assert!(matches!(
            intake.blame(StoreError::Corrupt("x".into())),
            CoreError::TooLarge { limit: 50 }
        ));
    }

    #[tokio::test]
    async fn a_silent_body_is_stopped_and_blamed_as_stalled() {
        let body = chunks(1).chain(futures::stream::pending());
        let (intake, s) = Intake::watch(body, 50, Duration::from_secs(1));
        let got: Vec<_> = s.collect().await;
        assert_eq!(got.len(), 2);
        assert!(matches!(
            intake.blame(StoreError::Corrupt("x".into())),
            CoreError::BodyStalled { idle_secs: 1 }
        ));
    }

    #[tokio::test]
    async fn a_store_failure_with_a_sound_body_stays_a_storage_failure() {
        let (intake, s) = Intake::watch(chunks(1), 50, Duration::from_secs(5));
        let _: Vec<_> = s.collect().await;
        assert!(matches!(
            intake.blame(StoreError::Corrupt("x".into())),
            CoreError::Storage(_)
        ));
    }
}
