//! Per-track audio on its way to the reporter: contiguous runs of about two seconds, each
//! with the time of its first sample and a sequence number per track.

use std::collections::HashMap;

use crate::{AudioChunk, TrackKey};

/// Samples per reported piece (2 s at 16 kHz).
pub const PIECE_SAMPLES: usize = 32_000;

/// A gap (or overlap) between runs larger than this starts a new piece, in ms.
const GAP_MS: u64 = 20;

/// A piece ready for the reporter.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub track: TrackKey,
    pub seq: u64,
    pub start_ms: u64,
    pub pcm16k: Vec<i16>,
}

#[derive(Debug, Default)]
struct Pending {
    next_seq: u64,
    start_ms: u64,
    pcm: Vec<i16>,
}

impl Pending {
    fn end_ms(&self) -> u64 {
        self.start_ms + self.pcm.len() as u64 / 16
    }

    fn take(&mut self, track: &TrackKey) -> Option<Piece> {
        if self.pcm.is_empty() {
            return None;
        }
        let piece = Piece {
            track: track.clone(),
            seq: self.next_seq,
            start_ms: self.start_ms,
            pcm16k: std::mem::take(&mut self.pcm),
        };
        self.next_seq += 1;
        Some(piece)
    }
}

/// Audio waiting to be reported, per track.
#[derive(Debug, Default)]
pub struct Pieces {
    tracks: HashMap<TrackKey, Pending>,
}

impl Pieces {
    /// Adds a chunk; returns the pieces it completed.
    pub fn push(&mut self, chunk: AudioChunk) -> Vec<Piece> {
        let mut out = Vec::new();
        let pending = self.tracks.entry(chunk.track.clone()).or_default();
        if !pending.pcm.is_empty() && pending.end_ms().abs_diff(chunk.start_ms) > GAP_MS {
            out.extend(pending.take(&chunk.track));
        }
        if pending.pcm.is_empty() {
            pending.start_ms = chunk.start_ms;
        }
        pending.pcm.extend_from_slice(&chunk.pcm16k);
        while pending.pcm.len() >= PIECE_SAMPLES {
            let rest = pending.pcm.split_off(PIECE_SAMPLES);
            out.extend(pending.take(&chunk.track));
            pending.start_ms += PIECE_SAMPLES as u64 / 16;
            pending.pcm = rest;
        }
        out
    }

    /// What `track` has pending, as a last (shorter) piece.
    pub fn flush(&mut self, track: &TrackKey) -> Option<Piece> {
        self.tracks.get_mut(track)?.take(track)
    }

    /// Every track's last piece.
    pub fn flush_all(&mut self) -> Vec<Piece> {
        let mut out: Vec<Piece> = self
            .tracks
            .iter_mut()
            .filter_map(|(track, pending)| pending.take(track))
            .collect();
        out.sort_by(|a, b| a.track.cmp(&b.track));
        out
    }

    /// Drops what `track` has pending, unreported (an opted-out participant's).
    pub fn discard(&mut self, track: &TrackKey) {
        if let Some(pending) = self.tracks.get_mut(track) {
            pending.pcm.clear();
        }
    }
}

/// The root mean square of `pcm`, in sample units.
pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let sum: f64 = pcm.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    (sum / pcm.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mid: &str) -> TrackKey {
        TrackKey {
            doc: 0,
            pc: 0,
            mid: mid.into(),
        }
    }

    fn chunk(mid: &str, start_ms: u64, n: usize, value: i16) -> AudioChunk {
        AudioChunk {
            track: key(mid),
            start_ms,
            pcm16k: vec![value; n],
        }
    }

    #[test]
    fn runs_become_two_second_pieces_numbered_per_track() {
        let mut pieces = Pieces::default();
        let mut out = Vec::new();
        for i in 0..50 {
            out.extend(pieces.push(chunk("0", 1000 + i * 100, 1600, 1)));
            out.extend(pieces.push(chunk("1", 500 + i * 100, 1600, 2)));
        }
        let a: Vec<(u64, u64, usize)> = out
            .iter()
            .filter(|p| p.track == key("0"))
            .map(|p| (p.seq, p.start_ms, p.pcm16k.len()))
            .collect();
        assert_eq!(a, vec![(0, 1000, 32_000), (1, 3000, 32_000)]);
        let last = pieces.flush(&key("0")).unwrap();
        assert_eq!(
            (last.seq, last.start_ms, last.pcm16k.len()),
            (2, 5000, 16_000)
        );
        assert_eq!(pieces.flush(&key("0")), None);
        let b: Vec<u64> = out
            .iter()
            .filter(|p| p.track == key("1"))
            .map(|p| p.seq)
            .collect();
        assert_eq!(b, vec![0, 1]);
    }

    #[test]
    fn a_gap_closes_the_piece_and_discard_drops_what_waits() {
        let mut pieces = Pieces::default();
        assert!(pieces.push(chunk("0", 0, 1600, 1)).is_empty());
        let out = pieces.push(chunk("0", 5000, 1600, 1));
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].seq, out[0].start_ms, out[0].pcm16k.len()),
            (0, 0, 1600)
        );
        pieces.discard(&key("0"));
        assert!(pieces.flush_all().is_empty());
        assert!(pieces.push(chunk("0", 6000, 1600, 1)).is_empty());
        assert_eq!(pieces.flush_all()[0].seq, 1);
    }

    #[test]
    fn rms_of_a_constant_is_its_magnitude() {
        assert!((rms(&[-300; 10]) - 300.0).abs() < 1e-9);
        assert_eq!(rms(&[]), 0.0);
    }
}
