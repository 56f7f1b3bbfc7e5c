//! Speaker analytics ("coaching") computed from a transcript's segments, no model needed: talk
//! time and share per speaker, words per minute, questions asked, the longest monologue,
//! interruptions, and how much of the meeting was silence. meetvault records each participant
//! on a track of their own, so overlapping speech is real overlap, not a diarization guess.

use std::collections::BTreeMap;

use serde::Serialize;

/// One timed utterance: who, when (milliseconds from the recording's start) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance<'a> {
    pub speaker: &'a str,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: &'a str,
}

/// Gaps shorter than this between one speaker's segments (with nobody else speaking) do not
/// end a monologue.
pub const MONOLOGUE_GAP_MS: u64 = 2_000;
/// Starting to speak this long before someone else has finished is an interruption.
pub const INTERRUPTION_OVERLAP_MS: u64 = 500;

/// The whole meeting's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analytics {
    /// From the recording's start to the last segment's end (or the recording's duration when
    /// it is known and longer).
    pub duration_ms: u64,
    /// Time when no one spoke, over `duration_ms` (0 when the duration is 0).
    pub silence_ratio: f64,
    /// Time when two or more spoke at once.
    pub overlap_ms: u64,
    pub questions: u32,
    pub interruptions: u32,
    pub longest_monologue: Option<Monologue>,
    /// By speaker label, in order of talk time, longest first.
    pub speakers: Vec<SpeakerStats>,
}

/// One speaker's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeakerStats {
    pub speaker: String,
    pub talk_ms: u64,
    /// `talk_ms` over everyone's talk time.
    pub talk_share: f64,
    pub segments: u32,
    pub words: u32,
    /// Words over talk time, in minutes (0 when they never spoke).
    pub words_per_minute: f64,
    /// Sentences ending in a question mark.
    pub questions: u32,
    /// Times they started while another speaker still had at least
    /// [`INTERRUPTION_OVERLAP_MS`] to go.
    pub interruptions: u32,
    pub longest_monologue_ms: u64,
}

/// The longest stretch one speaker held the floor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Monologue {
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The analytics of `segments` (any order; an end before its start counts as zero length).
/// `recording_ms` is the recording's length when known, so trailing silence counts.
pub fn analyze(segments: &[Utterance<'_>], recording_ms: Option<u64>) -> Analytics {
    let mut segs: Vec<Utterance<'_>> = segments
        .iter()
        .map(|u| Utterance {
            end_ms: u.end_ms.max(u.start_ms),
            ..u.clone()
        })
        .collect();
    segs.sort_by_key(|u| (u.start_ms, u.end_ms));
    let last = segs.iter().map(|u| u.end_ms).max().unwrap_or(0);
    let duration_ms = recording_ms.unwrap_or(0).max(last);

    let mut by: BTreeMap<&str, SpeakerStats> = BTreeMap::new();
    for u in &segs {
        let s = by.entry(u.speaker).or_insert_with(|| SpeakerStats {
            speaker: u.speaker.to_owned(),
            talk_ms: 0,
            talk_share: 0.0,
            segments: 0,
            words: 0,
            words_per_minute: 0.0,
            questions: 0,
            interruptions: 0,
            longest_monologue_ms: 0,
        });
        s.segments += 1;
        s.words += count_u32(
            u.text
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .count(),
        );
        s.questions += count_u32(
            u.text
                .split_inclusive(['.', '!', '?'])
                .filter(|s| s.trim_end().ends_with('?'))
                .count(),
        );
    }
    // Talk time per speaker: the union of their segments (a speaker's own overlaps once).
    for (speaker, stats) in by.iter_mut() {
        let spans = segs
            .iter()
            .filter(|u| u.speaker == *speaker)
            .map(|u| (u.start_ms, u.end_ms));
        stats.talk_ms = union_len(spans);
    }
    // Interruptions: a start inside someone else's segment with enough of it left.
    for (i, u) in segs.iter().enumerate() {
        let interrupted = segs[..i].iter().any(|o| {
            o.speaker != u.speaker
                && o.start_ms < u.start_ms
                && o.end_ms >= u.start_ms.saturating_add(INTERRUPTION_OVERLAP_MS)
        });
        if interrupted && let Some(s) = by.get_mut(u.speaker) {
            s.interruptions += 1;
        }
    }
    // Monologues: consecutive segments of one speaker, gaps under MONOLOGUE_GAP_MS, nobody
    // else starting in between.
    let mut longest: Option<Monologue> = None;
    let mut current: Option<Monologue> = None;
    for u in &segs {
        match current.as_mut() {
            Some(m)
                if m.speaker == u.speaker
                    && u.start_ms <= m.end_ms.saturating_add(MONOLOGUE_GAP_MS) =>
            {
                m.end_ms = m.end_ms.max(u.end_ms);
            }
            _ => {
                if let Some(m) = current.take() {
                    keep_longest(&mut longest, &mut by, m);
                }
                current = Some(Monologue {
                    speaker: u.speaker.to_owned(),
                    start_ms: u.start_ms,
                    end_ms: u.end_ms,
                });
            }
        }
    }
    if let Some(m) = current {
        keep_longest(&mut longest, &mut by, m);
    }

    let spoken = union_len(segs.iter().map(|u| (u.start_ms, u.end_ms)));
    let total_talk: u64 = by.values().map(|s| s.talk_ms).sum();
    let overlap_ms = overlap_len(&segs);
    let mut speakers: Vec<SpeakerStats> = by.into_values().collect();
    for s in &mut speakers {
        s.talk_share = ratio(s.talk_ms, total_talk);
        s.words_per_minute = if s.talk_ms == 0 {
            0.0
        } else {
            f64::from(s.words) * 60_000.0 / s.talk_ms as f64
        };
    }
    speakers.sort_by(|a, b| b.talk_ms.cmp(&a.talk_ms).then(a.speaker.cmp(&b.speaker)));
    Analytics {
        duration_ms,
        silence_ratio: ratio(duration_ms.saturating_sub(spoken), duration_ms),
        overlap_ms,
        questions: speakers.iter().map(|s| s.questions).sum(),
        interruptions: speakers.iter().map(|s| s.interruptions).sum(),
        longest_monologue: longest,
        speakers,
    }
}

fn keep_longest(
    longest: &mut Option<Monologue>,
    by: &mut BTreeMap<&str, SpeakerStats>,
    m: Monologue,
) {
    let len = m.end_ms - m.start_ms;
    if let Some(s) = by.get_mut(m.speaker.as_str()) {
        s.longest_monologue_ms = s.longest_monologue_ms.max(len);
    }
    if longest.as_ref().is_none_or(|l| len > l.end_ms - l.start_ms) {
        *longest = Some(m);
    }
}

/// `[start, end)` spans merged where they touch or overlap, in order.
fn merged(spans: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = spans.collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The length of the union of `[start, end)` spans.
fn union_len(spans: impl Iterator<Item = (u64, u64)>) -> u64 {
    merged(spans).iter().map(|(s, e)| e - s).sum()
}

/// Time when two or more different speakers spoke at once (a speaker's own overlapping
/// segments count once).
fn overlap_len(segs: &[Utterance<'_>]) -> u64 {
    // Each speaker's talk as disjoint spans, then a sweep over their edges.
    let mut speakers: Vec<&str> = segs.iter().map(|u| u.speaker).collect();
    speakers.sort_unstable();
    speakers.dedup();
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for sp in speakers {
        let own = segs
            .iter()
            .filter(|u| u.speaker == sp)
            .map(|u| (u.start_ms, u.end_ms));
        for (s, e) in merged(own) {
            edges.extend([(s, 1), (e, -1)]);
        }
    }
    // Ends before starts at the same instant.
    edges.sort_unstable();
    let (mut total, mut active, mut last) = (0, 0, 0);
    for (t, d) in edges {
        if active >= 2 {
            total += t - last;
        }
        active += d;
        last = t;
    }
    total
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u<'a>(speaker: &'a str, start_ms: u64, end_ms: u64, text: &'a str) -> Utterance<'a> {
        Utterance {
            speaker,
            start_ms,
            end_ms,
            text,
        }
    }

    #[test]
    fn talk_time_questions_interruptions_and_silence() {
        let segs = [
            u("Ana", 0, 10_000, "Welcome everyone. Shall we start? Good."),
            u("Ana", 11_000, 20_000, "First item is the budget."),
            u(
                "Ben",
                18_000,
                25_000,
                "Sorry, can I add something? It is about Q3.",
            ),
            u("Ana", 40_000, 45_000, "Sure."),
        ];
        let a = analyze(&segs, Some(60_000));
        assert_eq!(a.duration_ms, 60_000);
        // Spoken: 0–10 s, 11–25 s and 40–45 s = 29 s of 60 s.
        assert!(
            (a.silence_ratio - 31.0 / 60.0).abs() < 1e-9,
            "{}",
            a.silence_ratio
        );
        assert_eq!(a.overlap_ms, 2_000);
        assert_eq!(a.questions, 2);
        assert_eq!(
            a.interruptions, 1,
            "Ben started with 2 s of Ana's segment left"
        );
        let ana = &a.speakers[0];
        assert_eq!((ana.speaker.as_str(), ana.talk_ms), ("Ana", 24_000));
        assert_eq!(ana.words, 12);
        assert!((ana.words_per_minute - 30.0).abs() < 1e-9);
        assert_eq!(ana.longest_monologue_ms, 20_000);
        let m = a.longest_monologue.unwrap();
        assert_eq!(
            (m.speaker.as_str(), m.start_ms, m.end_ms),
            ("Ana", 0, 20_000)
        );
        let ben = &a.speakers[1];
        assert_eq!(
            (ben.talk_ms, ben.questions, ben.interruptions),
            (7_000, 1, 1)
        );
        assert!((ana.talk_share + ben.talk_share - 1.0).abs() < 1e-9);
    }

    #[test]
    fn three_at_once_is_overlap_counted_once() {
        let segs = [
            u("A", 0, 10_000, "x"),
            u("B", 0, 10_000, "y"),
            u("C", 0, 10_000, "z"),
            u("A", 5_000, 8_000, "own overlap"),
        ];
        assert_eq!(analyze(&segs, None).overlap_ms, 10_000);
        let far = [
            u("A", u64::MAX - 10, u64::MAX, "edge"),
            u("B", u64::MAX - 5, u64::MAX, "e"),
        ];
        assert_eq!(analyze(&far, None).overlap_ms, 5);
    }

    #[test]
    fn an_empty_transcript_is_all_silence() {
        let a = analyze(&[], Some(5_000));
        assert_eq!(a.duration_ms, 5_000);
        assert!((a.silence_ratio - 1.0).abs() < 1e-9);
        assert!(a.speakers.is_empty() && a.longest_monologue.is_none());
        let none = analyze(&[], None);
        assert_eq!((none.duration_ms, none.silence_ratio), (0, 0.0));
    }

    #[test]
    fn a_short_backchannel_is_not_an_interruption_and_ends_no_monologue_of_its_own_speaker() {
        let segs = [
            u("Ana", 0, 10_000, "Long point"),
            u("Ben", 9_800, 10_500, "Mm."),
            u("Ana", 11_000, 30_000, "continues"),
        ];
        let a = analyze(&segs, None);
        assert_eq!(a.interruptions, 0);
        // Ben spoke in between, so Ana's floor is split.
        assert_eq!(a.longest_monologue.unwrap().start_ms, 11_000);
    }
}
