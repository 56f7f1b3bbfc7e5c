//! Search over meeting text: keyword (Okapi BM25, k1 = 1.2, b = 0.75) and semantic (cosine of
//! unit vectors), fused by reciprocal rank (k = 60). The index is cut into [`Segment`]s, one
//! per meeting, so each can be stored sealed under its meeting's key and loaded (decrypted)
//! only for a query whose caller may open that meeting; collection statistics (document
//! frequencies, average length) are computed over the segments a query loads, so a meeting
//! the caller cannot open influences nothing. Crypto-shredding a meeting makes its segment
//! unreadable, which removes it from search.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

const K1: f32 = 1.2;
const B: f32 = 0.75;
const RRF_K: f32 = 60.0;

/// Words too common to search by.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for", "from", "has", "have",
    "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what",
    "when", "where", "which", "who", "will", "with", "you", "your",
];

/// The search terms of `text`: lower-cased words and numbers, stopwords dropped, a plural or
/// verb ending folded (`meetings` → `meeting`, `shipped` → `ship`).
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| fold(&w.to_lowercase()))
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

fn fold(w: &str) -> String {
    let n = w.chars().count();
    if n <= 3 || !w.is_ascii() {
        return w.to_owned();
    }
    for (suffix, keep) in [
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ] {
        if let Some(stem) = w.strip_suffix(suffix)
            && stem.len() >= 3
            && !(suffix == "s" && stem.ends_with('s'))
        {
            let mut s = format!("{stem}{keep}");
            // shipped → shipp → ship
            let b = s.as_bytes();
            if keep.is_empty()
                && (suffix == "ed" || suffix == "ing")
                && b.len() >= 2
                && b[b.len() - 1] == b[b.len() - 2]
                && !matches!(b[b.len() - 1], b'l' | b's' | b'z')
            {
                s.pop();
            }
            return s;
        }
    }
    w.to_owned()
}

/// One meeting's part of the index: per passage, its term frequencies and length, and its
/// embedding (unit length) when one was computed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// term → (passage, frequency), passages ascending.
    postings: BTreeMap<String, Vec<(u32, u16)>>,
    lens: Vec<u32>,
    dim: u32,
    /// Passages × dim, or empty when built without vectors.
    vectors: Vec<f32>,
}

impl Segment {
    /// Indexes `passages` (and their vectors, one per passage, when given).
    pub fn build(passages: &[&str], vectors: Option<&[Vec<f32>]>) -> Self {
        let mut seg = Segment::default();
        for (i, p) in passages.iter().enumerate() {
            let ts = terms(p);
            seg.lens.push(u32::try_from(ts.len()).unwrap_or(u32::MAX));
            let mut tf: HashMap<String, u16> = HashMap::new();
            for t in ts {
                let e = tf.entry(t).or_default();
                *e = e.saturating_add(1);
            }
            for (t, f) in tf {
                seg.postings.entry(t).or_default().push((i as u32, f));
            }
        }
        // Vectors only when there is one per passage, all of one length.
        if let Some(v) = vectors.filter(|v| {
            v.len() == passages.len()
                && !v.is_empty()
                && v.iter().all(|x| x.len() == v[0].len() && !x.is_empty())
        }) {
            seg.dim = u32::try_from(v[0].len()).unwrap_or(0);
            seg.vectors = v.iter().flat_map(|x| x.iter().copied()).collect();
        }
        seg
    }

    pub fn passages(&self) -> usize {
        self.lens.len()
    }

    /// The segment as bytes to seal: a little-endian `u32` length, the postings, lengths and
    /// dimension as that many bytes of JSON, then the vectors as little-endian `f32`s (a
    /// quarter of their size as JSON numbers).
    pub fn encode(&self) -> Vec<u8> {
        let head = serde_json::to_vec(&Head {
            postings: std::borrow::Cow::Borrowed(&self.postings),
            lens: std::borrow::Cow::Borrowed(&self.lens[..]),
            dim: self.dim,
        })
        .unwrap_or_default();
        let mut out = Vec::with_capacity(4 + head.len() + self.vectors.len() * 4);
        out.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&head);
        for v in &self.vectors {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads [`encode`](Self::encode)'s bytes back; `None` for anything else (a damaged or
    /// foreign segment is skipped by its reader, never trusted).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let head: Head<'static> =
            serde_json::from_slice(bytes.get(4..4usize.checked_add(len)?)?).ok()?;
        let rest = &bytes[4 + len..];
        if !rest.len().is_multiple_of(4) {
            return None;
        }
        let vectors: Vec<f32> = rest
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let n = head.lens.len();
        let dim = head.dim as usize;
        if !(vectors.is_empty() || dim.checked_mul(n) == Some(vectors.len()))
            || head
                .postings
                .values()
                .flatten()
                .any(|(p, _)| *p as usize >= n)
        {
            return None;
        }
        Some(Segment {
            postings: head.postings.into_owned(),
            lens: head.lens.into_owned(),
            dim: if vectors.is_empty() { 0 } else { head.dim },
            vectors,
        })
    }

    fn vector(&self, i: usize) -> Option<&[f32]> {
        let d = self.dim as usize;
        (d > 0)
            .then(|| self.vectors.get(i * d..(i + 1) * d))
            .flatten()
    }
}

/// [`Segment::encode`]'s JSON part.
#[derive(Serialize, Deserialize)]
struct Head<'a> {
    postings: std::borrow::Cow<'a, BTreeMap<String, Vec<(u32, u16)>>>,
    lens: std::borrow::Cow<'a, [u32]>,
    dim: u32,
}

/// A passage found: its segment (index into the slice searched) and passage, with its fused
/// score and its rank in each list (1-based; `None` when that list did not find it).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub segment: usize,
    pub passage: usize,
    pub score: f32,
    pub keyword_rank: Option<usize>,
    pub semantic_rank: Option<usize>,
    /// Cosine with the query vector, when there was one and the passage has a vector.
    pub similarity: Option<f32>,
}

/// Searches `segments` for `query` (and its unit vector, for the semantic half), keeping
/// passages `keep(segment, passage)` allows; the best `limit`. Semantic matches below
/// `min_similarity` are left out (so an unrelated question finds nothing rather than the
/// least unrelated passage).
pub fn search(
    segments: &[&Segment],
    query: &str,
    query_vector: Option<&[f32]>,
    limit: usize,
    min_similarity: f32,
    keep: impl Fn(usize, usize) -> bool,
) -> Vec<Hit> {
    let qterms = {
        let mut t = terms(query);
        t.sort();
        t.dedup();
        t
    };
    // Only what the caller may see counts, in the statistics too.
    let kept: Vec<Vec<bool>> = segments
        .iter()
        .enumerate()
        .map(|(si, s)| (0..s.passages()).map(|p| keep(si, p)).collect())
        .collect();
    let visible = |si: usize, p: usize| kept[si].get(p).copied().unwrap_or(false);
    let n: usize = kept.iter().flatten().filter(|k| **k).count();
    if n == 0 {
        return Vec::new();
    }
    let avg = segments
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            s.lens
                .iter()
                .enumerate()
                .filter(move |(p, _)| visible(si, *p))
                .map(|(_, &l)| l as f32)
        })
        .sum::<f32>()
        / n as f32;
    let mut bm25: HashMap<(usize, usize), f32> = HashMap::new();
    for t in &qterms {
        let df: usize = segments
            .iter()
            .enumerate()
            .filter_map(|(si, s)| s.postings.get(t).map(|ps| (si, ps)))
            .map(|(si, ps)| ps.iter().filter(|(p, _)| visible(si, *p as usize)).count())
            .sum();
        if df == 0 {
            continue;
        }
        let idf = ((n as f32 - df as f32 + 0.5) / (df as f32 + 0.5) + 1.0).ln();
        for (si, s) in segments.iter().enumerate() {
            for &(p, f) in s.postings.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                let p = p as usize;
                // A posting past the passages (a damaged segment) is skipped, not a panic.
                let (true, Some(&len)) = (visible(si, p), s.lens.get(p)) else {
                    continue;
                };
                let f = f32::from(f);
                let len = len as f32;
                let score = idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / avg.max(1.0)));
                *bm25.entry((si, p)).or_default() += score;
            }
        }
    }
    let mut keyword: Vec<((usize, usize), f32)> = bm25.into_iter().collect();
    keyword.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    // Every visible passage's cosine (keyword hits report theirs too); the floor applies to
    // the semantic list only.
    let mut sims: HashMap<(usize, usize), f32> = HashMap::new();
    if let Some(q) = query_vector {
        for (si, s) in segments.iter().enumerate() {
            for p in 0..s.passages() {
                if let Some(v) = s.vector(p)
                    && v.len() == q.len()
                    && visible(si, p)
                {
                    sims.insert((si, p), v.iter().zip(q).map(|(a, b)| a * b).sum());
                }
            }
        }
    }
    let mut semantic: Vec<((usize, usize), f32)> = sims
        .iter()
        .filter(|(_, sim)| **sim >= min_similarity)
        .map(|(k, v)| (*k, *v))
        .collect();
    semantic.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let depth = limit.max(1) * 4;
    let mut fused: HashMap<(usize, usize), Hit> = HashMap::new();
    for (rank, (key, _)) in keyword.iter().take(depth).enumerate() {
        let h = fused.entry(*key).or_insert_with(|| hit(*key));
        h.keyword_rank = Some(rank + 1);
        h.score += 1.0 / (RRF_K + rank as f32 + 1.0);
    }
    for (rank, (key, _)) in semantic.iter().take(depth).enumerate() {
        let h = fused.entry(*key).or_insert_with(|| hit(*key));
        h.semantic_rank = Some(rank + 1);
        h.score += 1.0 / (RRF_K + rank as f32 + 1.0);
    }
    let mut hits: Vec<Hit> = fused.into_values().collect();
    for h in &mut hits {
        h.similarity = sims.get(&(h.segment, h.passage)).copied();
    }
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((a.segment, a.passage).cmp(&(b.segment, b.passage)))
    });
    hits.truncate(limit);
    hits
}

fn hit((segment, passage): (usize, usize)) -> Hit {
    Hit {
        segment,
        passage,
        score: 0.0,
        keyword_rank: None,
        semantic_rank: None,
        similarity: None,
    }
}

/// Byte ranges of `text`'s words that match `query`'s terms, for highlighting.
pub fn highlights(text: &str, query: &str) -> Vec<(usize, usize)> {
    let q = terms(query);
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let w = fold(&text[s..i].to_lowercase());
                if q.contains(&w) {
                    out.push((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_survives_encoding_and_damage_is_refused() {
        let v = vec![vec![0.6, 0.8], vec![1.0, 0.0]];
        let seg = Segment::build(&["budget review friday", "hiring plan"], Some(&v));
        let bytes = seg.encode();
        assert_eq!(Segment::decode(&bytes), Some(seg.clone()));
        let plain = Segment::build(&["only words"], None);
        assert_eq!(Segment::decode(&plain.encode()), Some(plain));
        assert_eq!(
            Segment::decode(&bytes[..bytes.len() - 4]),
            None,
            "a vector short"
        );
        assert_eq!(Segment::decode(&bytes[..3]), None);
        assert_eq!(Segment::decode(b"\xff\xff\xff\xffjunk"), None);
    }

    #[test]
    fn terms_fold_plurals_and_tenses() {
        assert_eq!(
            terms("The meetings shipped; we're SHIPPING policies!"),
            ["meeting", "ship", "re", "ship", "policy"]
        );
    }

    #[test]
    fn bm25_ranks_rarer_matches_higher_and_respects_the_filter() {
        let a = Segment::build(
            &[
                "budget review for the quarter",
                "lunch plans",
                "budget budget budget",
            ],
            None,
        );
        let b = Segment::build(&["the launch of the billing migration"], None);
        let hits = search(&[&a, &b], "billing budget", None, 10, 0.0, |_, _| true);
        assert_eq!(hits.len(), 3);
        assert_eq!(
            (hits[0].segment, hits[0].passage),
            (1, 0),
            "billing is rarer"
        );
        let hidden = search(&[&a, &b], "billing", None, 10, 0.0, |s, _| s != 1);
        assert!(hidden.is_empty(), "a filtered segment is never returned");
        // Hidden passages do not move the visible scores either.
        let alone = search(&[&a], "budget", None, 10, 0.0, |_, _| true);
        let beside = search(&[&a, &b], "budget", None, 10, 0.0, |s, _| s == 0);
        assert_eq!(alone, beside);
        // A damaged segment (a posting past its passages) is skipped.
        let mut broken = Segment::build(&["budget"], None);
        broken.postings.get_mut("budget").unwrap()[0].0 = 5;
        let _ = search(&[&broken], "budget", None, 10, 0.0, |_, _| true);
        assert_eq!(
            highlights("Budgets and the BUDGET.", "budget"),
            [(0, 7), (16, 22)]
        );
    }

    #[test]
    fn semantic_and_keyword_lists_fuse() {
        let v = |x: f32, y: f32| {
            let n = (x * x + y * y).sqrt();
            vec![x / n, y / n]
        };
        let seg = Segment::build(
            &["release date moved", "ship the launch later", "cats"],
            Some(&[v(1.0, 0.1), v(0.9, 0.3), v(0.0, 1.0)]),
        );
        let hits = search(&[&seg], "release", Some(&v(1.0, 0.0)), 2, 0.5, |_, _| true);
        assert_eq!(hits[0].passage, 0, "first in both lists");
        assert_eq!(hits[0].keyword_rank, Some(1));
        assert_eq!(hits[1].passage, 1, "found by meaning alone");
        assert_eq!(hits[1].keyword_rank, None);
        let none = search(&[&seg], "zebra", Some(&v(-1.0, -1.0)), 5, 0.3, |_, _| true);
        assert!(
            none.is_empty(),
            "nothing similar enough, no keyword: not found"
        );
    }
}
