//! The embedded chat model against llama.cpp on the same GGUF file (SmolLM2-135M-Instruct):
//! the same token ids for hostile texts (control-token text stays text), the same ChatML
//! prompts, llama.cpp's greedy answers reproduced (where they part, only at a near tie: the two
//! tokens within 0.25 nats in our logits, after at least 8 equal tokens), and the most likely
//! next token agreeing at ≥ 95% of positions, every disagreement a near tie (llama.cpp's pick
//! within 0.5 nats of ours). The engine re-quantizes the file's Q4_1 to Q8_0 for speed
//! (163 of 170 agree, widest gap 0.3 nats, when this was written; 167 on Q4_1 itself). The reference was written once by
//! `scripts/fixtures/smollm2_reference.py` (llama-cpp-python 0.3.36).

use std::sync::OnceLock;

use meetvault_intel::llm::{ChatModel, Finish, Message, Role, Sampling};
use serde::Deserialize;

use crate::support::{fixture, smollm2_dir};

#[derive(Deserialize)]
struct Reference {
    texts: Vec<Tokenized>,
    chats: Vec<Chat>,
}

#[derive(Deserialize)]
struct Tokenized {
    text: String,
    ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Chat {
    messages: Vec<Message>,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    greedy_text: String,
    argmax: Vec<u32>,
}

fn reference() -> Reference {
    serde_json::from_slice(&std::fs::read(fixture("smollm2-llamacpp.json")).unwrap()).unwrap()
}

pub fn model() -> &'static ChatModel {
    static M: OnceLock<ChatModel> = OnceLock::new();
    M.get_or_init(|| ChatModel::load(&smollm2_dir().join("model.gguf"), 2048).unwrap())
}

#[test]
fn tokens_and_prompts_match_llama_cpp() {
    let r = reference();
    let m = model();
    for t in &r.texts {
        assert_eq!(
            m.tokenizer().encode(&t.text).unwrap(),
            t.ids,
            "ids of {:?}",
            t.text
        );
        assert_eq!(m.tokenizer().decode(&t.ids).unwrap(), t.text, "round trip");
    }
    for c in &r.chats {
        assert_eq!(m.prompt_ids(&c.messages).unwrap(), c.prompt_ids);
    }
}

#[test]
fn greedy_answers_and_next_token_choices_match_llama_cpp() {
    let r = reference();
    let m = model();
    let (mut agree, mut total) = (0, 0);
    // Where the two pick different tokens, how far below our best llama.cpp's pick is.
    let mut worst_gap = 0f32;
    for c in &r.chats {
        let mut streamed = String::new();
        let out = m
            .complete(
                &c.messages,
                &Sampling {
                    max_tokens: c.greedy_ids.len(),
                    ..Sampling::default()
                },
                |piece| {
                    streamed.push_str(piece);
                    true
                },
            )
            .unwrap();
        assert_eq!(streamed, out.text, "the stream adds up to the answer");
        // Identical up to where llama.cpp stopped (the same ids, or the same text when
        // llama.cpp ended on a stop token we also ended on).
        let same = out
            .ids
            .iter()
            .zip(&c.greedy_ids)
            .take_while(|(a, b)| a == b)
            .count();
        eprintln!(
            "{:?}: {same}/{} greedy tokens as llama.cpp; ours: {:?}",
            c.messages
                .last()
                .map(|m| &m.content[..m.content.len().min(30)]),
            c.greedy_ids.len(),
            out.text
        );
        let mut seq = c.prompt_ids.clone();
        if same < c.greedy_ids.len() {
            // A divergence must be a near tie in our own logits: llama.cpp keeps its cache in
            // f16 and orders its sums differently, so the two can only disagree where the two
            // best tokens are within a small fraction of a nat.
            seq.extend(&c.greedy_ids[..same]);
            let row = m.logits(&seq).unwrap().pop().unwrap();
            let (ours, theirs) = (out.ids[same] as usize, c.greedy_ids[same] as usize);
            let margin = row[ours] - row[theirs];
            eprintln!("  diverged at token {same}: margin {margin:.4} nats");
            assert!(
                margin.abs() < 0.25 && same >= 8,
                "diverged from llama.cpp at token {same} by {margin} nats: ours {:?}, llama.cpp {:?}",
                out.text,
                c.greedy_text
            );
            seq.truncate(c.prompt_ids.len());
        }
        let mut seq = c.prompt_ids.clone();
        seq.extend(&c.greedy_ids);
        let logits = m.logits(&seq).unwrap();
        for (row, want) in logits.iter().zip(&c.argmax) {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i as u32)
                .unwrap();
            agree += usize::from(best == *want);
            total += 1;
            worst_gap = worst_gap.max(row[best as usize] - row[*want as usize]);
        }
    }
    let rate = agree as f64 / total as f64;
    eprintln!(
        "next-token agreement with llama.cpp: {agree}/{total} = {rate:.4}; widest gap where they differ {worst_gap:.3} nats"
    );
    assert!(rate >= 0.95, "next-token agreement {rate:.4}");
    assert!(
        worst_gap < 0.5,
        "a disagreement that is not a near tie: {worst_gap} nats"
    );
}

#[test]
fn stop_strings_token_limits_and_early_stops() {
    let m = model();
    let msgs = [
        Message::system("Answer briefly."),
        Message::user("List three colours."),
    ];
    let out = m
        .complete(
            &msgs,
            &Sampling {
                max_tokens: 5,
                ..Sampling::default()
            },
            |_| true,
        )
        .unwrap();
    assert_eq!((out.completion_tokens, out.finish), (5, Finish::Length));
    let out = m
        .complete(
            &msgs,
            &Sampling {
                max_tokens: 60,
                stop: vec!["\n".into()],
                ..Sampling::default()
            },
            |_| true,
        )
        .unwrap();
    assert_eq!(out.finish, Finish::Stop);
    assert!(
        !out.text.contains('\n') && !out.text.is_empty(),
        "{:?}",
        out.text
    );
    let mut pieces = 0;
    let out = m
        .complete(&msgs, &Sampling::default(), |_| {
            pieces += 1;
            pieces < 3
        })
        .unwrap();
    assert_eq!(out.finish, Finish::Stop);
    assert!(out.completion_tokens <= 4);
    // Sampling with a seed is repeatable.
    let s = Sampling {
        temperature: 0.8,
        top_p: 0.9,
        seed: 7,
        max_tokens: 12,
        ..Sampling::default()
    };
    let a = m.complete(&msgs, &s, |_| true).unwrap();
    let b = m.complete(&msgs, &s, |_| true).unwrap();
    assert_eq!(a.ids, b.ids);
    assert_eq!(Role::Assistant.as_str(), "assistant");
}

#[test]
fn a_prompt_past_the_context_is_refused_and_bad_files_are_named() {
    let m = model();
    let long = "word ".repeat(3000);
    let err = m
        .complete(&[Message::user(long)], &Sampling::default(), |_| true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("context"), "{err}");
    let dir = std::env::temp_dir().join(format!("mv-intel-llm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("model.gguf");
    std::fs::write(&bad, b"GGUF but not really").unwrap();
    let err = ChatModel::load(&bad, 512).unwrap_err().to_string();
    assert!(err.contains("GGUF") && err.contains("model.gguf"), "{err}");
    let err = ChatModel::load(&dir.join("missing.gguf"), 512)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing.gguf") && err.contains("scripts/models.sh"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_transcript_past_the_context_is_summarised_in_parts() {
    use meetvault_intel::summarize::{Line, summarize};
    // A small context forces the hierarchical path: parts, then a summary of the summaries.
    let small = ChatModel::load(&smollm2_dir().join("model.gguf"), 700).unwrap();
    let texts: Vec<String> = (0..60)
        .map(|i| match i % 4 {
            0 => format!("Item {i}: the billing migration needs the invoice schema before launch."),
            1 => "I'll update the runbook for the migration by Friday.".to_owned(),
            2 => "We decided to keep the old billing system running for a month.".to_owned(),
            _ => "Right, and the load test results look good so far.".to_owned(),
        })
        .collect();
    let lines: Vec<Line<'_>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Line {
            speaker: if i % 2 == 0 {
                "Ana Silva"
            } else {
                "Ben Okafor"
            },
            start_ms: i as u64 * 5_000,
            text: t,
        })
        .collect();
    let total: usize = texts.iter().map(|t| small.count_tokens(t).unwrap()).sum();
    assert!(
        total > small.context(),
        "{total} tokens must not fit in {}",
        small.context()
    );
    let s = summarize(&lines, Some(&small), None).unwrap();
    assert!(!s.overview.trim().is_empty());
    eprintln!(
        "overview of {total} tokens in a {}-token context: {:?}",
        small.context(),
        s.overview
    );
    // The facts come from the rules, cited: the commitment is Ben's, at segment 1 (5 s).
    let item = &s.action_items[0];
    assert_eq!(item.owner.as_deref(), Some("Ben Okafor"));
    assert_eq!(
        (item.segment, item.start_ms, item.due.as_deref()),
        (1, 5_000, Some("Friday"))
    );
    assert_eq!(
        s.action_items.len(),
        1,
        "the same task said again is one item"
    );
    assert_eq!(s.decisions.len(), 15);
    assert_eq!(s.key_points.len(), 5);
}

#[test]
fn answers_held_to_a_schema_always_parse_and_match_it() {
    use meetvault_intel::structured::{Draft, schema};
    let m = model();
    let messages = [
        Message::system(meetvault_intel::structured::SYSTEM_PROMPT),
        Message::user(
            "Transcript:\n[1] Ana: The vendor quote came in high.\n[2] Ben: I'll send the revised budget to finance by Friday.\n\nSummary:",
        ),
    ];
    for max in [600, 40, 3] {
        let done = m.complete_json(&messages, &schema(), max).unwrap();
        let v: serde_json::Value = serde_json::from_str(&done.text)
            .unwrap_or_else(|e| panic!("max_tokens {max}: {e}: {}", done.text));
        // Every section (serde_json keeps maps sorted by key).
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["action_items", "decisions", "key_points", "overview"],
            "{v}"
        );
        let draft: Draft = serde_json::from_value(v.clone()).unwrap();
        for item in &draft.action_items {
            assert!(!item.task.contains('"'), "{v}");
        }
        if max < 100 {
            assert_eq!(done.finish, Finish::Length, "{max}: {v}");
        }
    }
    // Enums, nullables, booleans and integers are the schema's, whatever the model prefers.
    let schema = serde_json::json!({"type": "object", "properties": {
        "mood": {"enum": ["calm", "tense"]},
        "owner": {"type": ["string", "null"], "maxLength": 20},
        "urgent": {"type": "boolean"},
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3}
    }});
    let done = m.complete_json(&messages, &schema, 200).unwrap();
    let v: serde_json::Value = serde_json::from_str(&done.text).unwrap();
    assert!(
        ["calm", "tense"].contains(&v["mood"].as_str().unwrap()),
        "{v}"
    );
    assert!(
        v["owner"].is_null() || v["owner"].as_str().unwrap().chars().count() <= 20,
        "{v}"
    );
    assert!(v["urgent"].is_boolean() && v["count"].is_u64(), "{v}");
    let tags = v["tags"].as_array().unwrap();
    assert!(
        tags.len() <= 3
            && tags
                .iter()
                .all(|t| t.as_str().unwrap().chars().count() <= 12),
        "{v}"
    );
    let refused = m.complete_json(&messages, &serde_json::json!({"$ref": "#/x"}), 10);
    assert!(refused.unwrap_err().to_string().contains("$ref"));
}
