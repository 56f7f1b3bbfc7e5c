//! A whole summary written by a remote model as JSON: asked for with a JSON schema (OpenAI's
//! structured outputs, `response_format: {"type": "json_schema", …}`, which vLLM, llama.cpp's
//! server, Ollama and OpenAI honour) where the server supports it, read tolerantly where it
//! does not (a fenced or prose-wrapped object is found; anything else is no draft), and then
//! held to the transcript: every point and action item must cite a line that exists and say
//! nothing — no name, no number — that the cited lines do not; an owner must be someone the
//! meeting named, a due date words said there. What fails is dropped, never shown; the rules'
//! own sections stand where the model gave nothing usable.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::summarize::{ActionItem, Cited, Line, faithful};

/// The instruction that goes with the schema; the operator's prompt template, when set, is
/// added as what to stress in the overview.
pub const SYSTEM_PROMPT: &str = "You summarise meeting transcripts. The transcript's lines are numbered like [3]. Answer with JSON only: an overview of two or three sentences; key_points and decisions, each a sentence with the number of the line it rests on; action_items, each a task with its owner (a person named in the meeting) and due date (as said) when there is one, and the number of the line it was said on. Use only what the transcript says; do not invent names, numbers or dates.";

/// Longest list the model may give per section (more is cut).
const MAX_ITEMS: usize = 30;

/// The JSON schema of a draft (strict: every field required, nullable where optional).
pub fn schema() -> Value {
    let cited = json!({
        "type": "object",
        "properties": {"text": {"type": "string"}, "line": {"type": "integer"}},
        "required": ["text", "line"],
        "additionalProperties": false
    });
    json!({
        "type": "object",
        "properties": {
            "overview": {"type": "string"},
            "key_points": {"type": "array", "items": cited},
            "decisions": {"type": "array", "items": cited},
            "action_items": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "task": {"type": "string"},
                    "owner": {"type": ["string", "null"]},
                    "due": {"type": ["string", "null"]},
                    "line": {"type": "integer"}
                },
                "required": ["task", "owner", "due", "line"],
                "additionalProperties": false
            }}
        },
        "required": ["overview", "key_points", "decisions", "action_items"],
        "additionalProperties": false
    })
}

/// `response_format` asking for [`schema`] as OpenAI's structured outputs do (OpenAI, vLLM,
/// llama.cpp's own server, Ollama's OpenAI endpoint).
pub fn response_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {"name": "meeting_summary", "strict": true, "schema": schema()}
    })
}

/// The ways to ask for [`schema`], in the order to try them: OpenAI's `json_schema`, then
/// `json_object` with a `schema` beside it (llama-cpp-python's server, which refuses the
/// first). A server that refuses both is asked for prose.
pub fn response_formats() -> Vec<Value> {
    vec![
        response_format(),
        json!({"type": "json_object", "schema": schema()}),
    ]
}

/// The transcript as the model reads it: `[n] Speaker: text`, numbered from 1, cut to
/// `max_bytes` (whole lines).
pub fn numbered(lines: &[Line<'_>], max_bytes: usize) -> String {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let line = format!("[{}] {}: {}\n", i + 1, l.speaker, l.text.trim());
        if out.len() + line.len() > max_bytes {
            break;
        }
        out.push_str(&line);
    }
    out
}

/// A sentence the model cited.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DraftPoint {
    pub text: String,
    #[serde(default)]
    pub line: Option<i64>,
}

/// A task the model found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DraftItem {
    pub task: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub line: Option<i64>,
}

/// What the model wrote, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Draft {
    #[serde(default)]
    pub overview: String,
    #[serde(default)]
    pub key_points: Vec<DraftPoint>,
    #[serde(default)]
    pub decisions: Vec<DraftPoint>,
    #[serde(default)]
    pub action_items: Vec<DraftItem>,
}

/// The draft in a model's answer: the whole text as JSON, or the first `{` to the last `}`
/// (a fenced block, prose around it). `None` when there is no such object.
pub fn parse(text: &str) -> Option<Draft> {
    let t = text.trim();
    if let Ok(d) = serde_json::from_str::<Draft>(t) {
        return Some(d);
    }
    let start = t.find('{')?;
    let end = t.rfind('}')?;
    if end <= start {
        return None;
    }
    serde_json::from_str::<Draft>(&t[start..=end]).ok()
}

/// A draft held to the transcript: what survived.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    /// The overview, if it passed [`faithful`].
    pub overview: Option<String>,
    pub key_points: Vec<Cited>,
    pub decisions: Vec<Cited>,
    pub action_items: Vec<ActionItem>,
    /// Points and items dropped (no such line, or words the cited lines do not hold).
    pub dropped: usize,
}

/// The index of a cited line (1-based in the draft) and the lines around it that may support
/// it (the line and its neighbours: a task is often said over two turns).
fn support<'a, 'l>(lines: &'a [Line<'l>], line: Option<i64>) -> Option<(usize, &'a [Line<'l>])> {
    let n = usize::try_from(line?).ok()?.checked_sub(1)?;
    if n >= lines.len() {
        return None;
    }
    let from = n.saturating_sub(1);
    let to = (n + 2).min(lines.len());
    Some((n, &lines[from..to]))
}

fn clean(s: &str, max: usize) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// Keeps what the transcript supports.
pub fn check(draft: Draft, lines: &[Line<'_>]) -> Checked {
    let mut out = Checked {
        overview: Some(clean(&draft.overview, 1200)).filter(|o| faithful(o, lines)),
        ..Checked::default()
    };
    let said: String = lines
        .iter()
        .flat_map(|l| [l.speaker, " ", l.text, "\n"])
        .collect::<String>()
        .to_lowercase();
    let cite = |points: Vec<DraftPoint>, into: &mut Vec<Cited>, dropped: &mut usize| {
        for p in points.into_iter().take(MAX_ITEMS) {
            let text = clean(&p.text, 400);
            match support(lines, p.line) {
                Some((n, near)) if !text.is_empty() && faithful(&text, near) => {
                    into.push(Cited {
                        text,
                        speaker: lines[n].speaker.to_owned(),
                        segment: n,
                        start_ms: lines[n].start_ms,
                    });
                }
                _ => *dropped += 1,
            }
        }
    };
    let mut dropped = 0;
    cite(draft.key_points, &mut out.key_points, &mut dropped);
    cite(draft.decisions, &mut out.decisions, &mut dropped);
    for item in draft.action_items.into_iter().take(MAX_ITEMS) {
        let task = clean(&item.task, 400);
        let owner = item.owner.map(|o| clean(&o, 100)).filter(|o| !o.is_empty());
        let due = item.due.map(|d| clean(&d, 100)).filter(|d| !d.is_empty());
        let Some((n, near)) = support(lines, item.line) else {
            dropped += 1;
            continue;
        };
        let near_said: String = near
            .iter()
            .map(|l| l.text)
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let owner_ok = owner
            .as_deref()
            .is_none_or(|o| said.contains(&o.to_lowercase()));
        let due_ok = due
            .as_deref()
            .is_none_or(|d| near_said.contains(&d.to_lowercase()));
        if task.is_empty() || !faithful(&task, near) || !owner_ok || !due_ok {
            dropped += 1;
            continue;
        }
        out.action_items.push(ActionItem {
            task,
            owner,
            due,
            segment: n,
            start_ms: lines[n].start_ms,
        });
    }
    out.dropped = dropped;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<Line<'static>> {
        vec![
            Line {
                speaker: "Ana",
                start_ms: 0,
                text: "The vendor quote came in twenty percent higher.",
            },
            Line {
                speaker: "Ben",
                start_ms: 5000,
                text: "I'll send the revised budget to finance by Friday.",
            },
            Line {
                speaker: "Cara",
                start_ms: 9000,
                text: "We decided to move the launch to March.",
            },
        ]
    }

    #[test]
    fn the_schema_is_strict_and_asks_for_every_section() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"].as_array().unwrap().len(), 4);
        assert_eq!(response_format()["json_schema"]["strict"], true);
        assert_eq!(
            numbered(&lines(), 1000).lines().nth(1),
            Some("[2] Ben: I'll send the revised budget to finance by Friday.")
        );
        assert_eq!(
            numbered(&lines(), 60).lines().count(),
            1,
            "whole lines only"
        );
    }

    #[test]
    fn drafts_are_read_from_json_fences_and_prose() {
        let json = r#"{"overview": "A budget review.", "key_points": [], "decisions": [], "action_items": []}"#;
        assert_eq!(parse(json).unwrap().overview, "A budget review.");
        let fenced = format!("Sure! Here it is:\n```json\n{json}\n```\nAnything else?");
        assert_eq!(parse(&fenced).unwrap().overview, "A budget review.");
        let partial = r#"{"overview": "Only this."}"#;
        assert!(parse(partial).unwrap().action_items.is_empty());
        for bad in [
            "",
            "no json here",
            "{ not json }",
            "} backwards {",
            "[1, 2]",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_what_the_cited_lines_support_is_kept() {
        let draft = parse(r#"{
            "overview": "The team reviewed a higher vendor quote and moved the launch.",
            "key_points": [{"text": "The vendor quote was twenty percent higher.", "line": 1},
                           {"text": "The quote was 50 percent higher.", "line": 1},
                           {"text": "Nothing here.", "line": 9}],
            "decisions": [{"text": "The launch moves to March.", "line": 3},
                          {"text": "The launch moves to April.", "line": 3}],
            "action_items": [
                {"task": "Send the revised budget to finance", "owner": "Ben", "due": "Friday", "line": 2},
                {"task": "Send the revised budget to finance", "owner": "Zed", "due": null, "line": 2},
                {"task": "Send the budget", "owner": "Ben", "due": "Monday", "line": 2},
                {"task": "Call Dana", "owner": null, "due": null, "line": 2},
                {"task": "Send it", "owner": null, "due": null, "line": 0},
                {"task": "Send it", "owner": null, "due": null, "line": -4}
            ]
        }"#)
        .unwrap();
        let c = check(draft, &lines());
        assert!(c.overview.is_some());
        assert_eq!(c.key_points.len(), 1, "{:?}", c.key_points);
        assert_eq!(c.key_points[0].speaker, "Ana");
        assert_eq!(c.decisions.len(), 1);
        assert_eq!(c.decisions[0].start_ms, 9000);
        assert_eq!(c.action_items.len(), 1, "{:?}", c.action_items);
        let a = &c.action_items[0];
        assert_eq!(
            (a.owner.as_deref(), a.due.as_deref(), a.start_ms),
            (Some("Ben"), Some("Friday"), 5000)
        );
        assert_eq!(c.dropped, 2 + 1 + 5);
        // An invented overview is not kept.
        let d = parse(r#"{"overview": "Zelda approved 9 million dollars."}"#).unwrap();
        assert_eq!(check(d, &lines()).overview, None);
    }
}
