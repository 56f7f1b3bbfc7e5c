//! Summaries of a meeting: action items and decisions found by rules over each sentence
//! (commitments — "I'll send the deck by Friday" —, requests — "Ben, can you update the
//! runbook?" —, assignments — "Chloe owns the customer email" —, explicit markers — "action
//! item:", "we decided", "let's go with"), each tied to the segment it came from; key points
//! chosen by how central a sentence is to the meeting (mean similarity to every other
//! sentence, embeddings when an [`Embedder`] is given, shared terms otherwise); and an
//! overview written by the chat model, hierarchically when the transcript exceeds its context
//! (each part summarised, then the parts' summaries), or the first key points when no model is
//! given. A 135M-parameter model paraphrases well but attributes poorly, so who owes what and
//! what was decided never come from it: those are extracted, and cited.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::error::Result;
use crate::llm::{ChatModel, Message, Sampling};
use crate::search::terms;

/// One transcript segment as summarisation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub speaker: &'a str,
    pub start_ms: u64,
    pub text: &'a str,
}

/// A task someone took or was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    pub task: String,
    pub owner: Option<String>,
    /// As said ("Friday", "end of day", "next week").
    pub due: Option<String>,
    /// The segment it came from (index into the lines given) and its start.
    pub segment: usize,
    pub start_ms: u64,
}

/// A sentence, cited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cited {
    pub text: String,
    pub speaker: String,
    pub segment: usize,
    pub start_ms: u64,
}

/// A meeting's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub overview: String,
    /// Whether the model wrote the overview (false: it was not given one, or what it wrote
    /// failed [`faithful`], and the overview is the most central sentences).
    #[serde(default)]
    pub overview_by_model: bool,
    pub key_points: Vec<Cited>,
    pub decisions: Vec<Cited>,
    pub action_items: Vec<ActionItem>,
}

fn re(p: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(p).expect("built-in summarisation pattern compiles")
}

static COMMIT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:(?:ok(?:ay)?|so|and|sure|yes|yeah|right|fine|great|then)[,.!]?\s+)*(?:i'll|i will|i'm going to|i am going to|i can|let me|i'll make sure to|i will make sure to)\s+(?P<task>.+)$",
    )
});
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:(?:ok(?:ay)?|so|and|also)[,.]?\s+)*(?:(?-i:(?P<name>[A-Z][a-z]+)),?\s+)?(?:can|could|would|will) you(?: please)?\s+(?P<task>.+)$",
    )
});
static ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?:(?i:ok(?:ay)?|so|and|also))[,.]?\s+)*(?P<name>[A-Z][a-z]+) (?:will|is going to|owns|is on|takes|to)\s+(?P<task>.+)$",
    )
});
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^(?:action item|todo|to do|next step|follow[- ]up)s?\s*[:\-]\s*(?P<task>.+)$")
});
static NEED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^(?:so,?\s+)?(?:we|someone|somebody) (?:need|needs|have|has|must) to\s+(?P<task>.+)$")
});
static DUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:by|before|until|no later than|on)\s+(?P<due>(?:the\s+)?(?:end of (?:the )?(?:day|week|month|quarter|sprint)|eod|eow|tomorrow|tonight|today|next (?:week|month|monday|tuesday|wednesday|thursday|friday)|(?:this\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(?:january|february|march|april|may|june|july|august|september|october|november|december)\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)(?:\s+of\s+\w+)?|the launch|the meeting|the review|next sprint))\b",
    )
});
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:we(?:'ve| have)? decided|the decision is|decided to|we(?:'ve| have)? agreed|agreed to|let's go with|we'll go with|we are going with|we're going with|it's settled|final decision|we will not|we won't)\b",
    )
});
/// Commitments that are not tasks ("I'll be honest", "I can see that").
static NOT_A_TASK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:be |say |admit |see |tell you |think |pass|guess |try to remember|hear |imagine |leave it|stop (?:sharing|there)|hand (?:it )?(?:over|back)|know |repeat |share (?:my|your) screen)",
    )
});

/// The sentences of a segment's text.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(['.', '!', '?'])
        .map(str::trim)
        .filter(|s| s.chars().any(char::is_alphanumeric))
}

fn clean_task(task: &str) -> String {
    let t = task.trim().trim_end_matches(['.', '!', '?', ',']).trim();
    let t = t.strip_prefix("please ").unwrap_or(t);
    t.to_owned()
}

/// Action items said in `lines`, in order.
pub fn action_items(lines: &[Line<'_>], speakers: &[&str]) -> Vec<ActionItem> {
    let mut out: Vec<ActionItem> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        for s in sentences(l.text) {
            let (task, owner) = if let Some(c) = MARKER.captures(s) {
                (c["task"].to_owned(), None)
            } else if let Some(c) = COMMIT.captures(s) {
                if s.ends_with('?') || NOT_A_TASK.is_match(&c["task"]) {
                    continue;
                }
                (c["task"].to_owned(), Some(l.speaker.to_owned()))
            } else if let Some(c) = REQUEST.captures(s) {
                if NOT_A_TASK.is_match(&c["task"]) {
                    continue;
                }
                // "Ben, can you…" names its owner only when Ben is in the meeting ("Hey, can
                // you…" names no one).
                let name = c
                    .name("name")
                    .map(|n| n.as_str())
                    .filter(|n| is_speaker(n, speakers))
                    .map(str::to_owned);
                (c["task"].to_owned(), name)
            } else if let Some(c) = ASSIGN.captures(s) {
                let name = c["name"].to_owned();
                if !is_speaker(&name, speakers) || s.ends_with('?') {
                    continue;
                }
                (c["task"].to_owned(), Some(name))
            } else if let Some(c) = NEED.captures(s) {
                if s.ends_with('?') {
                    continue;
                }
                (c["task"].to_owned(), None)
            } else {
                continue;
            };
            let due = DUE.captures(&task).map(|c| c["due"].to_owned());
            let task = clean_task(&task);
            if task.split_whitespace().count() < 2 {
                continue;
            }
            let owner = owner.map(|o| full_name(&o, speakers));
            if out.iter().any(|a| a.task.eq_ignore_ascii_case(&task)) {
                continue;
            }
            out.push(ActionItem {
                task,
                owner,
                due,
                segment: i,
                start_ms: l.start_ms,
            });
        }
    }
    out
}

/// Whether `name` is a speaker's first name.
fn is_speaker(name: &str, speakers: &[&str]) -> bool {
    speakers.iter().any(|sp| {
        sp.split_whitespace()
            .next()
            .is_some_and(|first| first.eq_ignore_ascii_case(name))
    })
}

/// A first name said in the meeting, as the speaker label it belongs to ("Ben" → "Ben Okafor").
fn full_name(name: &str, speakers: &[&str]) -> String {
    speakers
        .iter()
        .find(|sp| {
            sp.eq_ignore_ascii_case(name)
                || sp
                    .split_whitespace()
                    .next()
                    .is_some_and(|f| f.eq_ignore_ascii_case(name))
        })
        .map_or_else(|| name.to_owned(), |s| (*s).to_owned())
}

/// Decisions said in `lines`, in order.
pub fn decisions(lines: &[Line<'_>]) -> Vec<Cited> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        for s in sentences(l.text) {
            if DECISION.is_match(s) && !s.ends_with('?') {
                out.push(cite(l, i, s));
            }
        }
    }
    out
}

fn cite(l: &Line<'_>, i: usize, s: &str) -> Cited {
    Cited {
        text: s.to_owned(),
        speaker: l.speaker.to_owned(),
        segment: i,
        start_ms: l.start_ms,
    }
}

/// The `n` most central sentences (of at least five words), in meeting order.
pub fn key_points(lines: &[Line<'_>], n: usize, embedder: Option<&Embedder>) -> Result<Vec<Cited>> {
    let cands: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| sentences(l.text).map(move |s| (i, s)))
        .filter(|(_, s)| s.split_whitespace().count() >= 5 && !s.ends_with('?'))
        .collect();
    if cands.is_empty() || n == 0 {
        return Ok(Vec::new());
    }
    let centrality: Vec<f32> = match embedder {
        Some(e) => {
            let texts: Vec<&str> = cands.iter().map(|c| c.1).collect();
            let v = e.embed(&texts)?;
            let dim = v.first().map_or(0, Vec::len);
            let mut mean = vec![0f32; dim];
            for x in &v {
                for (m, y) in mean.iter_mut().zip(x) {
                    *m += y / v.len() as f32;
                }
            }
            v.iter()
                .map(|x| x.iter().zip(&mean).map(|(a, b)| a * b).sum())
                .collect()
        }
        None => {
            let sets: Vec<Vec<String>> = cands.iter().map(|c| terms(c.1)).collect();
            let mut freq = std::collections::HashMap::<&str, f32>::new();
            for s in &sets {
                for t in s {
                    *freq.entry(t.as_str()).or_default() += 1.0;
                }
            }
            sets.iter()
                .map(|s| {
                    s.iter().map(|t| freq[t.as_str()]).sum::<f32>() / (s.len() as f32).max(1.0)
                })
                .collect()
        }
    };
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| centrality[b].total_cmp(&centrality[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = order.into_iter().take(n).collect();
    chosen.sort_unstable();
    Ok(chosen
        .into_iter()
        .map(|k| {
            let (i, s) = cands[k];
            cite(&lines[i], i, s)
        })
        .collect())
}

/// The transcript as the model reads it: `Speaker: text` lines.
fn script(lines: &[Line<'_>]) -> String {
    lines
        .iter()
        .map(|l| format!("{}: {}", l.speaker, l.text.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a model is asked to write an overview with (the embedded one, or a remote provider).
pub const OVERVIEW_PROMPT: &str = "You summarise meeting transcripts. Write two or three plain sentences saying what the meeting was about and what was agreed. Do not invent names, numbers or dates.";

/// A short overview of the meeting by `model`: the transcript in parts that fit its context
/// (each part summarised), then one summary of the parts.
pub fn overview(model: &ChatModel, lines: &[Line<'_>]) -> Result<String> {
    // Room for the instructions and the answer.
    // Room for the instructions and the answer; a context too small for that is refused.
    let budget = model.context().saturating_sub(400);
    if budget < 200 {
        return Err(crate::IntelError::Input(format!(
            "a context of {} tokens is too small to summarise in (600 at least)",
            model.context()
        )));
    }
    // Each answer is at most a third of a part, so two answers always fit in one part and
    // every round of summaries of summaries at least halves their number.
    let answer_tokens = (budget / 3).min(160);
    let mut parts: Vec<String> = Vec::new();
    let mut current: Vec<Line<'_>> = Vec::new();
    let mut used = 0;
    for l in lines {
        let cost = model.count_tokens(l.text)? + 8;
        if used + cost > budget && !current.is_empty() {
            parts.push(script(&current));
            current.clear();
            used = 0;
        }
        current.push(l.clone());
        used += cost.min(budget);
    }
    if !current.is_empty() {
        parts.push(script(&current));
    }
    let ask = |text: &str| -> Result<String> {
        let text: String = truncate_tokens(model, text, budget)?;
        let out = model.complete(
            &[
                Message::system(OVERVIEW_PROMPT),
                Message::user(format!("Transcript:\n{text}\n\nSummary:")),
            ],
            &Sampling {
                max_tokens: answer_tokens,
                repeat_penalty: 1.1,
                ..Sampling::default()
            },
            |_| true,
        )?;
        Ok(out.text.trim().to_owned())
    };
    let mut summaries: Vec<String> = Vec::new();
    for p in &parts {
        summaries.push(ask(p)?);
    }
    while summaries.len() > 1 {
        // Summaries of parts, summarised together as far as the context allows.
        let mut next = Vec::new();
        let mut group = String::new();
        let mut in_group = 0;
        for s in summaries {
            if in_group >= 2 && model.count_tokens(&group)? + model.count_tokens(&s)? > budget {
                next.push(ask(&group)?);
                group.clear();
                in_group = 0;
            }
            in_group += 1;
            group.push_str(&s);
            group.push('\n');
        }
        if !group.is_empty() {
            next.push(ask(&group)?);
        }
        summaries = next;
    }
    Ok(summaries.pop().unwrap_or_default())
}

/// Words a summary's sentence may open with that a meeting need not have said.
const SUMMARY_WORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "this",
    "these",
    "that",
    "they",
    "there",
    "it",
    "its",
    "we",
    "he",
    "she",
    "in",
    "on",
    "at",
    "after",
    "before",
    "then",
    "also",
    "finally",
    "overall",
    "everyone",
    "participants",
    "attendees",
    "speakers",
    "both",
    "all",
    "next",
    "key",
    "main",
    "during",
    "discussion",
    "topics",
    "summary",
    "meeting",
    "team",
    "further",
    "additionally",
    "lastly",
    "first",
    "second",
    "third",
    "however",
    "while",
    "although",
    "other",
];

/// Whether a model's overview may be shown: not empty or overlong, not a transcript echoed back
/// (`Name: …` lines), no sentence twice, and no name or number that the transcript does not
/// contain. A small model that fails this is replaced by extraction, never shown.
pub fn faithful(overview: &str, lines: &[Line<'_>]) -> bool {
    let text = overview.trim();
    if text.is_empty() || text.chars().count() > 1200 {
        return false;
    }
    let script = re(r"(?m)^\s*[A-Z][A-Za-z .'-]{0,40}:\s");
    if script.is_match(text) {
        return false;
    }
    let mut seen = std::collections::HashSet::new();
    for sentence in text.split(['.', '!', '?', '\n']) {
        let key: String = sentence
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if key.len() > 10 && !seen.insert(key) {
            return false;
        }
    }
    let said: String = lines
        .iter()
        .flat_map(|l| [l.speaker, " ", l.text, "\n"])
        .collect::<String>()
        .to_lowercase();
    // Names (capitalised words not opening a sentence) and numbers must come from the meeting.
    let mut sentence_start = true;
    for word in text.split_whitespace() {
        let bare: String = word
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '\'')
            .collect();
        let bare = bare.trim_end_matches("'s");
        let lower = bare.to_lowercase();
        // A capitalised word opening a sentence is a name too unless it is a word summaries
        // open with (its lower case said in the meeting counts as well).
        let opener = sentence_start && SUMMARY_WORDS.contains(&lower.as_str());
        let invented = !bare.is_empty()
            && (bare.chars().any(|c| c.is_ascii_digit())
                || (bare.chars().next().is_some_and(char::is_uppercase) && !opener))
            && !said.contains(&lower);
        if invented && bare != "I" {
            return false;
        }
        sentence_start = word.ends_with(['.', '!', '?', ':']);
    }
    true
}

fn truncate_tokens(model: &ChatModel, text: &str, budget: usize) -> Result<String> {
    let ids = model.tokenizer().encode(text)?;
    if ids.len() <= budget {
        return Ok(text.to_owned());
    }
    model.tokenizer().decode(&ids[..budget])
}

/// The whole summary: rules for action items and decisions, centrality for key points, the
/// model (when given) for the overview, else the first key points.
pub fn summarize(
    lines: &[Line<'_>],
    model: Option<&ChatModel>,
    embedder: Option<&Embedder>,
) -> Result<Summary> {
    let mut speakers: Vec<&str> = lines.iter().map(|l| l.speaker).collect();
    speakers.sort_unstable();
    speakers.dedup();
    let key_points = key_points(lines, 5, embedder)?;
    let written = match model {
        Some(m) if !lines.is_empty() => Some(overview(m, lines)?).filter(|o| faithful(o, lines)),
        _ => None,
    };
    let overview_by_model = written.is_some();
    let overview = written.unwrap_or_else(|| {
        key_points
            .iter()
            .take(2)
            .map(|k| k.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    Ok(Summary {
        overview,
        overview_by_model,
        key_points,
        decisions: decisions(lines),
        action_items: action_items(lines, &speakers),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfaithful_overview_is_refused() {
        let lines = [
            l("Ana", 0, "The vendor quote came in twenty percent higher."),
            l(
                "Ben",
                5_000,
                "I'll send the revised budget to Finance by Friday.",
            ),
        ];
        assert!(faithful(
            "The team discussed a higher vendor quote. Ben will send the revised budget to Finance by Friday.",
            &lines
        ));
        for bad in [
            "",
            "Ana: The vendor quote came in higher.\nBen: I'll send it.",
            "The quote was higher. Aaron will send the budget.",
            "The quote rose by 35 percent.",
            "The budget is late. The budget is late.",
        ] {
            assert!(!faithful(bad, &lines), "{bad:?}");
        }
    }

    fn l<'a>(speaker: &'a str, start_ms: u64, text: &'a str) -> Line<'a> {
        Line {
            speaker,
            start_ms,
            text,
        }
    }

    #[test]
    fn commitments_requests_assignments_and_markers() {
        let lines = [
            l(
                "Ana Silva",
                0,
                "Okay, let's start. I'll be honest, the numbers are late.",
            ),
            l(
                "Ben Okafor",
                5_000,
                "I'll send the revised budget to finance by Friday.",
            ),
            l(
                "Ana Silva",
                9_000,
                "Ben, can you also update the runbook before the launch?",
            ),
            l(
                "Ana Silva",
                12_000,
                "Chloe owns the customer email. We decided to ship on March 3rd.",
            ),
            l(
                "Chloe",
                15_000,
                "Action item: book the retro room. Can we move on?",
            ),
            l("Ben Okafor", 18_000, "We need to fix the flaky login test."),
        ];
        let speakers = ["Ana Silva", "Ben Okafor", "Chloe"];
        let items = action_items(&lines, &speakers);
        let got: Vec<(&str, Option<&str>, Option<&str>, usize)> = items
            .iter()
            .map(|a| {
                (
                    a.task.as_str(),
                    a.owner.as_deref(),
                    a.due.as_deref(),
                    a.segment,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "send the revised budget to finance by Friday",
                    Some("Ben Okafor"),
                    Some("Friday"),
                    1
                ),
                (
                    "also update the runbook before the launch",
                    Some("Ben Okafor"),
                    Some("the launch"),
                    2
                ),
                ("the customer email", Some("Chloe"), None, 3),
                ("book the retro room", None, None, 4),
                ("fix the flaky login test", None, None, 5),
            ]
        );
        let d = decisions(&lines);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].text.as_str(), d[0].segment),
            ("We decided to ship on March 3rd.", 3)
        );
    }

    #[test]
    fn key_points_without_a_model_are_central_sentences_in_order() {
        let lines = [
            l(
                "A",
                0,
                "The billing migration is the main topic for the billing team today.",
            ),
            l(
                "B",
                1,
                "The billing migration needs the new invoice schema first.",
            ),
            l(
                "C",
                2,
                "Unrelated: my cat knocked a plant over this morning.",
            ),
        ];
        let k = key_points(&lines, 2, None).unwrap();
        assert_eq!(k.iter().map(|c| c.segment).collect::<Vec<_>>(), [0, 1]);
        let s = summarize(&lines, None, None).unwrap();
        assert!(
            s.overview
                .starts_with("The billing migration is the main topic")
        );
    }
}
