//! PII redaction on its corpus (`scripts/fixtures/pii_corpus.py`: hundreds of real-shaped
//! values and look-alikes): precision and recall, per kind and overall, both at least 0.98;
//! placeholders typed, stable and reversible only through the mapping.

use std::collections::BTreeMap;

use meetvault_intel::pii::{Detector, Kind, Mapping};
use serde::Deserialize;

use crate::support::fixture;

#[derive(Deserialize)]
struct Line {
    text: String,
    values: Vec<Value>,
}

#[derive(Deserialize)]
struct Value {
    kind: String,
    value: String,
}

fn kind_name(k: &Kind) -> String {
    k.label().to_ascii_lowercase()
}

#[test]
fn precision_and_recall_on_the_corpus_are_at_least_0_98() {
    let corpus = std::fs::read_to_string(fixture("pii-corpus.jsonl")).unwrap();
    let detector = Detector::default();
    // kind → (true positives, false positives, false negatives)
    let mut tally: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut lines = 0;
    for raw in corpus.lines() {
        lines += 1;
        let line: Line = serde_json::from_str(raw).unwrap();
        let mut expected: Vec<(String, String)> = line
            .values
            .iter()
            .map(|v| (v.kind.clone(), v.value.clone()))
            .collect();
        for f in detector.find(&line.text) {
            let got = (kind_name(&f.kind), line.text[f.start..f.end].to_owned());
            let entry = tally.entry(got.0.clone()).or_default();
            if let Some(i) = expected.iter().position(|e| *e == got) {
                expected.remove(i);
                entry.0 += 1;
            } else {
                entry.1 += 1;
                misses.push(format!("false positive {got:?} in {:?}", line.text));
            }
        }
        for e in expected {
            tally.entry(e.0.clone()).or_default().2 += 1;
            misses.push(format!("missed {e:?} in {:?}", line.text));
        }
    }
    let (mut tp, mut fp, mut fne) = (0, 0, 0);
    for (kind, (t, p, n)) in &tally {
        eprintln!(
            "{kind:>6}: {t:3} found, {p} false positives, {n} missed; precision {:.3}, recall {:.3}",
            f64::from(*t) / f64::from((t + p).max(1)),
            f64::from(*t) / f64::from((t + n).max(1))
        );
        tp += t;
        fp += p;
        fne += n;
    }
    let precision = f64::from(tp) / f64::from(tp + fp);
    let recall = f64::from(tp) / f64::from(tp + fne);
    eprintln!(
        "PII corpus: {lines} lines, {} values; precision {precision:.4}, recall {recall:.4}",
        tp + fne
    );
    for m in &misses {
        eprintln!("  {m}");
    }
    assert!(tp + fne >= 300, "the corpus holds hundreds of values");
    assert!(precision >= 0.98, "precision {precision:.4} < 0.98");
    assert!(recall >= 0.98, "recall {recall:.4} < 0.98");
}

#[test]
fn placeholders_are_typed_stable_and_reversible_through_the_mapping() {
    let detector = Detector::default();
    let mut map = Mapping::new();
    let a = map.redact(
        &detector,
        "Mail ana@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111.",
    );
    assert_eq!(a, "Mail [EMAIL_1] or call [PHONE_1]; card [CARD_1].");
    let b = map.redact(&detector, "Again: ana@example.com, and bo@example.org.");
    assert_eq!(b, "Again: [EMAIL_1], and [EMAIL_2].");
    assert_eq!(map.entries().len(), 4);
    // A model's answer mentioning placeholders comes back with the values, for the owner.
    let answer = "Follow up with [EMAIL_2] and [PHONE_1]; [EMAIL_9] is not ours; [ stays.";
    assert_eq!(
        map.restore(answer),
        "Follow up with bo@example.org and +44 20 7946 0958; [EMAIL_9] is not ours; [ stays."
    );
    // The mapping survives being stored (it is sealed under the meeting key) and never shows
    // values in Debug.
    let json = serde_json::to_string(&map).unwrap();
    let back: Mapping = serde_json::from_str(&json).unwrap();
    assert_eq!(back, map);
    assert!(!format!("{map:?}").contains("example"));
}

#[test]
fn hostile_text_is_handled() {
    let detector = Detector::default();
    let long = "9".repeat(100_000);
    assert!(detector.find(&long).is_empty());
    let mixed = "ünïcödé +49 30 12345678 — 東京 ana@example.com 🚀 [EMAIL_1] \u{202e}";
    let mut map = Mapping::new();
    let out = map.redact(&detector, mixed);
    // A placeholder-shaped text already in the input is marked, so it is not ours…
    assert_eq!(
        out,
        "ünïcödé [PHONE_1] — 東京 [EMAIL_1] 🚀 [\u{2060}EMAIL_1] \u{202e}"
    );
    // …and restoring gives it back as it was, never another person's value.
    assert_eq!(
        map.restore(&out),
        "ünïcödé +49 30 12345678 — 東京 ana@example.com 🚀 [EMAIL_1] \u{202e}"
    );
    let entry = format!("{:?}", map.entries());
    assert!(
        !entry.contains("ana@") && entry.contains("[redacted]"),
        "{entry}"
    );
}
