//! Questions about meetings, answered from what was said and cited — or "not found". The
//! caller retrieves passages with [`crate::search`] (only from meetings the asker may open);
//! [`relevant`] keeps those that plausibly answer (close in meaning, or close enough and
//! sharing the question's words); [`answer`] then either quotes them (the embedded default: a
//! 135M model cannot be trusted to restate facts, so the answer is the cited passages
//! themselves) or, with a model that can, asks it to answer from the numbered passages only
//! and keeps its answer only if it cites one of them and does not say it cannot tell.

use serde::Serialize;

use crate::search::Hit;

/// A semantic match this close is relevant on its own (all-MiniLM-L6-v2 cosine).
pub const SIMILAR: f32 = 0.45;
/// A keyword match needs at least this much similarity too.
pub const RELATED: f32 = 0.25;

/// Passages worth answering from, best first: at most `limit`.
pub fn relevant(hits: &[Hit], limit: usize) -> Vec<Hit> {
    hits.iter()
        .filter(|h| {
            let sim = h.similarity.unwrap_or(0.0);
            sim >= SIMILAR || (h.keyword_rank.is_some() && sim >= RELATED)
        })
        .take(limit)
        .cloned()
        .collect()
}

/// A passage an answer may rest on, in the caller's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    /// The caller's reference (a segment id, a document chunk id …).
    pub key: String,
    pub speaker: Option<String>,
    pub start_ms: Option<u64>,
    pub text: String,
}

/// An answer and the passages it rests on, or nothing found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer {
    Found {
        text: String,
        /// Keys of the passages cited, in the order given.
        citations: Vec<String>,
        /// `quoted` (the passages themselves) or `generated` (a model's words over them).
        method: Method,
    },
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Quoted,
    Generated,
}

/// What a model is asked when one answers.
pub const ANSWER_PROMPT: &str = "Answer the question using only the numbered excerpts from meeting transcripts. Cite the excerpts you used like [1]. If the excerpts do not contain the answer, reply exactly: NOT FOUND.";

/// The excerpts as a model reads them: `[n] Speaker (mm:ss): text`.
pub fn excerpts(passages: &[Passage]) -> String {
    passages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let who = p.speaker.as_deref().unwrap_or("Document");
            let at = p
                .start_ms
                .map(|ms| format!(" ({:02}:{:02})", ms / 60_000, ms / 1000 % 60))
                .unwrap_or_default();
            format!("[{}] {who}{at}: {}", i + 1, p.text.trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A model's answer to a question over numbered excerpts (`None`: it could not answer).
pub type Generate<'a> = &'a mut dyn FnMut(&str, &str) -> Option<String>;

/// The answer from `passages` (already [`relevant`]). `generate`, when given, turns the
/// question and excerpts into a model's answer; it is kept only when it cites an excerpt that
/// exists and does not say NOT FOUND, else the passages are quoted.
pub fn answer(question: &str, passages: &[Passage], generate: Option<Generate<'_>>) -> Answer {
    if passages.is_empty() {
        return Answer::NotFound;
    }
    if let Some(generate) = generate
        && let Some(text) = generate(question, &excerpts(passages))
    {
        let cited: Vec<String> = (1..=passages.len())
            .filter(|n| text.contains(&format!("[{n}]")))
            .map(|n| passages[n - 1].key.clone())
            .collect();
        let refuses = text.to_ascii_uppercase().contains("NOT FOUND");
        if !cited.is_empty() && !refuses {
            return Answer::Found {
                text: text.trim().to_owned(),
                citations: cited,
                method: Method::Generated,
            };
        }
    }
    let best = &passages[..passages.len().min(2)];
    Answer::Found {
        text: best
            .iter()
            .map(|p| match &p.speaker {
                Some(s) => format!("{s}: \u{201c}{}\u{201d}", p.text.trim()),
                None => format!("\u{201c}{}\u{201d}", p.text.trim()),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        citations: best.iter().map(|p| p.key.clone()).collect(),
        method: Method::Quoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(key: &str, text: &str) -> Passage {
        Passage {
            key: key.into(),
            speaker: Some("Ana".into()),
            start_ms: Some(65_000),
            text: text.into(),
        }
    }

    fn hit(sim: f32, keyword: bool) -> Hit {
        Hit {
            segment: 0,
            passage: 0,
            score: 0.0,
            keyword_rank: keyword.then_some(1),
            semantic_rank: Some(1),
            similarity: Some(sim),
        }
    }

    #[test]
    fn relevance_needs_meaning_or_words_and_meaning() {
        assert_eq!(relevant(&[hit(0.5, false)], 5).len(), 1);
        assert_eq!(relevant(&[hit(0.3, true)], 5).len(), 1);
        assert!(relevant(&[hit(0.3, false), hit(0.1, true)], 5).is_empty());
    }

    #[test]
    fn quoted_generated_and_not_found() {
        let ps = [
            p("s1", "We ship on Friday."),
            p("s2", "Ben owns the runbook."),
        ];
        assert_eq!(answer("when?", &[], None), Answer::NotFound);
        let quoted = answer("when do we ship?", &ps, None);
        assert!(
            matches!(&quoted, Answer::Found { method: Method::Quoted, citations, text }
            if citations == &["s1", "s2"] && text.starts_with("Ana: \u{201c}We ship on Friday."))
        );
        assert_eq!(excerpts(&ps[..1]), "[1] Ana (01:05): We ship on Friday.");
        let mut good = |_: &str, _: &str| Some("On Friday [1].".to_owned());
        assert!(matches!(answer("when?", &ps, Some(&mut good)),
            Answer::Found { method: Method::Generated, citations, .. } if citations == ["s1"]));
        // A model that cites nothing, cites a passage that does not exist, or refuses: quoted.
        for reply in ["Friday.", "On Friday [7].", "NOT FOUND [1]"] {
            let mut g = |_: &str, _: &str| Some(reply.to_owned());
            assert!(
                matches!(
                    answer("when?", &ps, Some(&mut g)),
                    Answer::Found {
                        method: Method::Quoted,
                        ..
                    }
                ),
                "{reply}"
            );
        }
    }
}
