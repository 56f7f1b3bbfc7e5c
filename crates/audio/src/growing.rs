//! A source read while it is still being written: a recording that arrives in pieces (a
//! browser's MediaRecorder chunks, uploaded one by one), decoded as each piece comes. Reads
//! block until the next piece, and the end is the writer's: dropping the [`Feeder`] (or
//! `idle` with nothing new) ends the stream once what was sent is read; a [`Stopper`] (the
//! reader's consumer giving up) ends it at once, what was sent and not read dropped. Not seekable, no length: the decoders read it
//! front to back, as a live WebM or Ogg is meant to be read.

use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use symphonia::core::io::MediaSource;

/// The writer's end: pieces in order.
#[derive(Debug)]
pub struct Feeder {
    tx: mpsc::Sender<Vec<u8>>,
}

impl Feeder {
    /// Appends `bytes`; false when the reader is gone (decoding ended, or failed).
    pub fn push(&self, bytes: Vec<u8>) -> bool {
        bytes.is_empty() || self.tx.send(bytes).is_ok()
    }
}

/// Ends a [`GrowingSource`] at its next read.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The reader's end, handed to [`crate::decode`].
#[derive(Debug)]
pub struct GrowingSource {
    stopped: Arc<AtomicBool>,
    // In a mutex only to be `Sync`, as symphonia's sources must be; one reader locks it.
    rx: Mutex<mpsc::Receiver<Vec<u8>>>,
    piece: Vec<u8>,
    at: usize,
    idle: Duration,
}

/// A connected writer and reader; a read waits at most `idle` for the next piece, then the
/// stream ends there.
pub fn growing(idle: Duration) -> (Feeder, GrowingSource) {
    let (tx, rx) = mpsc::channel();
    (
        Feeder { tx },
        GrowingSource {
            stopped: Arc::default(),
            rx: Mutex::new(rx),
            piece: Vec::new(),
            at: 0,
            idle,
        },
    )
}

impl GrowingSource {
    /// What ends this source at its next read (whatever was sent and not read yet).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stopped.clone())
    }
}

impl Read for GrowingSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stopped.load(Ordering::SeqCst) {
            return Ok(0);
        }
        while self.at >= self.piece.len() {
            let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner());
            let next = rx.recv_timeout(self.idle);
            drop(rx);
            match next {
                Ok(piece) => {
                    self.piece = piece;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Seek for GrowingSource {
    fn seek(&mut self, _: SeekFrom) -> std::io::Result<u64> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "a growing source cannot seek",
        ))
    }
}

impl MediaSource for GrowingSource {
    fn is_seekable(&self) -> bool {
        false
    }

    fn byte_len(&self) -> Option<u64> {
        None
    }
}
