//! The mixed recording's timeline: every chunk of every track (but those of participants who
//! opted out) at its own `start_ms` on the meeting's clock — or right after its track's audio
//! so far, when it starts earlier — summed sample by sample and saturated. Unlike a
//! per-speaker recording, no pause is cut short, so a participant who joins half an hour in
//! is heard half an hour in.
//!
//! The same rule builds the mix while the bot records (streamed into its destination,
//! `destinations/mixed.rs`) and when it ends (the recording), so the parts already sent are
//! the file's own bytes. What may be sent is what no chunk still to come can change: a
//! track's audio only grows at its end, so everything before the smallest end of the tracks
//! still sounding is final — less a margin for a participant who joins (their first chunk
//! starts about now). A track that went quiet (its participant left) holds nobody back. A
//! chunk that lands before what was sent anyway (a late joiner with a stale clock) makes the
//! streamed parts differ; the end of the meeting notices and uploads the file whole.

use std::collections::{BTreeMap, BTreeSet};

use meetvault_store::bots::AudioChunkRow;

/// The bucket upload of a bot's mixed recording (no track is named so: track keys hold no `*`).
pub(crate) const MIXED: &str = "*mixed";
/// Samples per millisecond (16 kHz).
const PER_MS: usize = 16;
/// A track whose audio ends this far behind the furthest track's holds nobody back (ms).
const QUIET_MS: usize = 60_000;
/// How far behind the slowest sounding track the mix is final: room for a participant who
/// joins, whose first chunk starts a little before the others' ends (ms).
const MARGIN_MS: usize = 30_000;

/// A chunk on the mixed timeline.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) row: AudioChunkRow,
    /// Its first sample's position in the mix.
    pub(crate) at: usize,
    /// Its first byte's offset in its own track's PCM (gaps as the per-speaker recording
    /// has them, see [`super::audio::gap_bytes`]).
    pub(crate) track_offset: usize,
}

impl Placed {
    fn samples(&self) -> usize {
        usize::try_from(self.row.samples).unwrap_or(0)
    }

    fn end(&self) -> usize {
        self.at + self.samples()
    }

    /// Its bytes in its own track's PCM.
    pub(crate) fn track_range(&self) -> std::ops::Range<usize> {
        self.track_offset..self.track_offset + self.samples() * 2
    }
}

/// Every chunk of a bot's tracks, placed.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    pub(crate) chunks: Vec<Placed>,
    ends: BTreeMap<String, usize>,
}

impl Timeline {
    /// `rows` in each track's order (by seq); tracks in `skip` are left out.
    pub(crate) fn of(
        rows: impl IntoIterator<Item = AudioChunkRow>,
        skip: &BTreeSet<String>,
    ) -> Self {
        let mut t = Self::default();
        let mut offsets: BTreeMap<String, usize> = BTreeMap::new();
        for row in rows {
            if skip.contains(&row.track) {
                continue;
            }
            let start = usize::try_from(row.start_ms).unwrap_or(0) * PER_MS;
            let end = t.ends.entry(row.track.clone()).or_default();
            let at = start.max(*end);
            let offset = offsets.entry(row.track.clone()).or_default();
            *offset += super::audio::gap_bytes(*offset, row.start_ms);
            let placed = Placed {
                row,
                at,
                track_offset: *offset,
            };
            *offset += placed.samples() * 2;
            *end = placed.end();
            t.chunks.push(placed);
        }
        t
    }

    /// The mix's length (samples).
    pub(crate) fn len(&self) -> usize {
        self.ends.values().copied().max().unwrap_or(0)
    }

    /// How many samples of the mix no chunk still to come can change (see the module's docs).
    pub(crate) fn settled(&self) -> usize {
        let last = self.len();
        let sounding = self
            .ends
            .values()
            .copied()
            .filter(|&end| end + QUIET_MS * PER_MS >= last)
            .min()
            .unwrap_or(0);
        sounding.saturating_sub(MARGIN_MS * PER_MS)
    }

    /// The chunks with a sample in `[from, to)`.
    pub(crate) fn overlapping(&self, from: usize, to: usize) -> impl Iterator<Item = &Placed> {
        self.chunks
            .iter()
            .filter(move |p| p.at < to && p.end() > from)
    }

    /// Samples `[from, to)` of the mix as 16-bit little-endian PCM; `pcm` gives a chunk's own
    /// bytes (`None`: not at hand, counted as silence — callers pass every overlapping one).
    pub(crate) fn mix<'a>(
        &'a self,
        from: usize,
        to: usize,
        pcm: impl Fn(&Placed) -> Option<&'a [u8]>,
    ) -> Vec<u8> {
        let mut sum = vec![0i32; to.saturating_sub(from)];
        for p in self.overlapping(from, to) {
            let Some(bytes) = pcm(p) else { continue };
            let first = from.max(p.at);
            let last = to.min(p.end());
            let skip = (first - p.at) * 2;
            let take = (last - first) * 2;
            let Some(bytes) = bytes.get(skip..skip + take) else {
                continue;
            };
            for (acc, s) in sum[first - from..].iter_mut().zip(bytes.chunks_exact(2)) {
                *acc += i32::from(i16::from_le_bytes([s[0], s[1]]));
            }
        }
        sum.into_iter()
            .flat_map(|v| {
                i16::try_from(v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)))
                    .unwrap_or_default()
                    .to_le_bytes()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(track: &str, seq: i64, start_ms: i64, samples: i64) -> AudioChunkRow {
        AudioChunkRow {
            bot_id: uuid::Uuid::nil(),
            track: track.into(),
            seq,
            org_id: uuid::Uuid::nil(),
            start_ms,
            samples,
            blob_key: String::new(),
            created_at: 0,
        }
    }

    fn pcm(value: i16, samples: usize) -> Vec<u8> {
        value.to_le_bytes().repeat(samples)
    }

    #[test]
    fn chunks_sit_at_their_start_or_after_their_track_and_sum_saturating() {
        let rows = vec![
            row("a", 0, 0, 16),
            // Starts before "a"'s first chunk ends: placed right after it.
            row("a", 1, 0, 16),
            // A late joiner 20 minutes in, not moved back (a per-speaker gap would be).
            row("b", 0, 20 * 60 * 1000, 16),
            row("c", 0, 0, 32),
            row("skipped", 0, 0, 32),
        ];
        let t = Timeline::of(rows, &BTreeSet::from(["skipped".to_owned()]));
        let at: Vec<usize> = t.chunks.iter().map(|p| p.at).collect();
        assert_eq!(at, [0, 16, 20 * 60 * 1000 * 16, 0]);
        assert_eq!(t.len(), 20 * 60 * 1000 * 16 + 16);
        // The per-speaker offset of "b" cuts its pause to ten minutes.
        assert_eq!(t.chunks[2].track_offset, 10 * 60 * 1000 * 16 * 2);
        let (a, c) = (pcm(30_000, 16), pcm(10_000, 32));
        let mixed = t.mix(8, 24, |p| match p.row.track.as_str() {
            "a" => Some(&a[..]),
            "c" => Some(&c[..]),
            _ => None,
        });
        assert_eq!(mixed, pcm(i16::MAX, 16), "30000 + 10000 saturates");
        // A range split in two mixes to the same bytes as in one piece.
        let whole = t.mix(0, 32, |p| match p.row.track.as_str() {
            "a" => Some(&a[..]),
            "c" => Some(&c[..]),
            _ => None,
        });
        let mut halves = Vec::new();
        for (from, to) in [(0, 13), (13, 32)] {
            halves.extend(t.mix(from, to, |p| match p.row.track.as_str() {
                "a" => Some(&a[..]),
                "c" => Some(&c[..]),
                _ => None,
            }));
        }
        assert_eq!(whole, halves);
    }

    #[test]
    fn the_settled_part_waits_for_the_slowest_sounding_track_not_a_quiet_one() {
        let s = 16_000; // samples per second
        let rows = vec![
            row("early", 0, 0, 100 * s as i64),
            row("late", 0, 60_000, 140 * s as i64),
            // Left after ten seconds: it holds nobody back.
            row("left", 0, 0, 10 * s as i64),
        ];
        let t = Timeline::of(rows, &BTreeSet::new());
        // "late" ends at 200 s, "early" at 100 s: 100 s behind, so quiet too.
        assert_eq!(t.settled(), (200 - 30) * s);
        let t = Timeline::of(
            vec![
                row("a", 0, 0, 100 * s as i64),
                row("b", 0, 0, 150 * s as i64),
            ],
            &BTreeSet::new(),
        );
        assert_eq!(t.settled(), (100 - 30) * s, "the slower sounding track");
        assert_eq!(Timeline::default().settled(), 0);
    }
}
