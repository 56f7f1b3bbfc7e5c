//! The embedded intelligence measured on this machine (bench/intelligence.sh runs it beside
//! llama.cpp): chat-model prompt and generation tokens per second, embeddings per second, the
//! summary of a one-hour transcript, search latency over 1,000 meetings, and the action items
//! of the evaluation set (bench/intelligence-eval.json) against their gold lists.
//! With `--remote BASE_URL MODEL`, the same evaluation with a remote OpenAI-compatible model
//! writing structured summaries and answers (`remote.rs`).
//!   cargo bench -p meetvault-intel --bench intelligence -- MODELS_DIR EVAL_JSON [--remote URL MODEL]

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "intelligence/remote.rs"]
mod remote;

use std::path::PathBuf;
use std::time::Instant;

use meetvault_intel::ask::{Answer, Passage, answer, relevant};
use meetvault_intel::embed::Embedder;
use meetvault_intel::llm::{ChatModel, Message, Sampling};
use meetvault_intel::search::{Segment, search};
use meetvault_intel::summarize::{ActionItem, Line, action_items, summarize};

const TOPICS: &[&str] = &[
    "the billing migration needs the new invoice schema before we can switch traffic",
    "customer churn went down after the onboarding emails were rewritten last month",
    "the security review found two medium issues in the login flow that we must fix",
    "hiring for the platform team is slow because the interview loop takes too long",
    "the mobile release is blocked on the payment provider's sandbox being unavailable",
    "marketing wants a launch date so they can book the conference booth in time",
];

fn transcript(minutes: u64) -> Vec<(String, u64, String)> {
    let speakers = ["Ana Silva", "Ben Okafor", "Chloe Nguyen", "Dmitri Berg"];
    let mut out = Vec::new();
    let mut t = 0;
    let mut i = 0usize;
    while t < minutes * 60_000 {
        let topic = TOPICS[(i / 7) % TOPICS.len()];
        let text = match i % 5 {
            0 => format!("So {topic}."),
            1 => format!("I think {topic}, and we should look at the numbers again next week."),
            2 => "Right, that matches what I heard from the team yesterday.".to_owned(),
            3 => format!("I'll write up a short plan about how {topic} by Friday."),
            _ => "Can we agree on that and move on to the next item?".to_owned(),
        };
        out.push((speakers[i % speakers.len()].to_owned(), t, text));
        t += 6_500;
        i += 1;
    }
    out
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let prompt_out = args
        .iter()
        .position(|a| a == "--prompt-out")
        .map(|i| PathBuf::from(args.drain(i..i + 2).nth(1).expect("--prompt-out FILE")));
    let remote = args.iter().position(|a| a == "--remote").map(|i| {
        let mut v = args.drain(i..i + 3).skip(1);
        (
            v.next().expect("--remote BASE_URL MODEL"),
            v.next().expect("--remote BASE_URL MODEL"),
        )
    });
    let models = PathBuf::from(
        args.first()
            .expect("usage: intelligence MODELS_DIR [EVAL_JSON] [--prompt-out FILE]"),
    );
    let eval = args.get(1).map(PathBuf::from);

    let t = Instant::now();
    let chat = ChatModel::load(&models.join("smollm2-135m-instruct/model.gguf"), 4096).unwrap();
    println!("chat_load_s\t{:.2}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let embedder = Embedder::load(&models.join("all-minilm-l6-v2")).unwrap();
    println!("embed_load_s\t{:.2}", t.elapsed().as_secs_f64());
    if let Some(eval) = &eval {
        action_item_eval(eval);
        question_eval(eval, &embedder);
        if let Some((base, model)) = &remote {
            remote::eval(eval, &embedder, base, model);
        }
    }

    // Prompt processing: a transcript of about 512 tokens; generation: 64 tokens, no stops.
    let script: String = transcript(10)
        .iter()
        .map(|(s, _, x)| format!("{s}: {x}\n"))
        .collect();
    let ids = chat.tokenizer().encode(&script).unwrap();
    let prompt_text = chat.tokenizer().decode(&ids[..512.min(ids.len())]).unwrap();
    if let Some(p) = &prompt_out {
        std::fs::write(p, &prompt_text).unwrap();
    }
    let msgs = [Message::user(prompt_text)];
    let prompt_tokens = chat.prompt_ids(&msgs).unwrap().len();
    let mut best_prompt = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        chat.complete(
            &msgs,
            &Sampling {
                max_tokens: 1,
                ..Sampling::default()
            },
            |_| true,
        )
        .unwrap();
        best_prompt = best_prompt.min(t.elapsed().as_secs_f64());
    }
    println!("prompt_tokens\t{prompt_tokens}");
    println!(
        "prompt_tok_per_s\t{:.1}",
        prompt_tokens as f64 / best_prompt
    );
    let gen_msgs = [Message::user(
        "Write a long story about a lighthouse keeper.",
    )];
    let t = Instant::now();
    chat.complete(
        &gen_msgs,
        &Sampling {
            max_tokens: 1,
            ..Sampling::default()
        },
        |_| true,
    )
    .unwrap();
    let first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = chat
        .complete(
            &gen_msgs,
            &Sampling {
                max_tokens: 64,
                ..Sampling::default()
            },
            |_| true,
        )
        .unwrap();
    let gen_s = t.elapsed().as_secs_f64() - first;
    println!("gen_tokens\t{}", out.completion_tokens);
    println!(
        "gen_tok_per_s\t{:.1}",
        (out.completion_tokens - 1) as f64 / gen_s
    );

    // Embeddings: 256 transcript sentences, batched.
    let sentences: Vec<String> = transcript(30).into_iter().map(|x| x.2).take(256).collect();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let t = Instant::now();
    embedder.embed(&refs).unwrap();
    println!(
        "embeddings_per_s\t{:.1}",
        refs.len() as f64 / t.elapsed().as_secs_f64()
    );

    // The summary of a one-hour meeting (model overview, hierarchical; rules; key points).
    let hour = transcript(60);
    let lines: Vec<Line<'_>> = hour
        .iter()
        .map(|(s, t, x)| Line {
            speaker: s,
            start_ms: *t,
            text: x,
        })
        .collect();
    let t = Instant::now();
    let summary = summarize(&lines, Some(&chat), Some(&embedder)).unwrap();
    println!("summary_1h_segments\t{}", lines.len());
    println!("summary_1h_s\t{:.1}", t.elapsed().as_secs_f64());
    println!("summary_1h_action_items\t{}", summary.action_items.len());

    // Search over 1,000 meetings of 60 passages (vectors synthetic, unit length).
    let mut seed = 1u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let words: Vec<&str> = TOPICS.iter().flat_map(|t| t.split(' ')).collect();
    let mut segments = Vec::new();
    for _ in 0..1000 {
        let passages: Vec<String> = (0..60)
            .map(|_| {
                (0..20)
                    .map(|_| words[((rnd() + 0.5) * words.len() as f32) as usize % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let vectors: Vec<Vec<f32>> = (0..60)
            .map(|_| {
                let v: Vec<f32> = (0..384).map(|_| rnd()).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / n).collect()
            })
            .collect();
        let refs: Vec<&str> = passages.iter().map(String::as_str).collect();
        segments.push(Segment::build(&refs, Some(&vectors)));
    }
    let segs: Vec<&Segment> = segments.iter().collect();
    let queries = [
        "billing migration schema",
        "security review login",
        "launch date booth",
    ];
    let mut times = Vec::new();
    for i in 0..60 {
        let q = queries[i % queries.len()];
        let qv = embedder.embed(&[q]).unwrap().pop().unwrap();
        let t = Instant::now();
        let hits = search(&segs, q, Some(&qv), 10, 0.2, |_, _| true);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!hits.is_empty());
    }
    times.sort_by(f64::total_cmp);
    println!("search_1000_meetings_p50_ms\t{:.1}", times[times.len() / 2]);
    println!(
        "search_1000_meetings_p99_ms\t{:.1}",
        times[times.len() * 99 / 100]
    );
}

#[derive(serde::Deserialize)]
struct Meeting {
    lines: Vec<(String, String)>,
    action_items: Vec<Gold>,
    questions: Vec<Question>,
}

#[derive(serde::Deserialize)]
struct Question {
    q: String,
    /// The lines that answer it; empty when the meeting does not.
    lines: Vec<usize>,
}

/// The passages a question finds in a meeting's segment (search, then relevance), as the
/// server's `ask` retrieves them.
fn retrieve(m: &Meeting, seg: &Segment, question: &str, embedder: &Embedder) -> Vec<Passage> {
    let qv = embedder.embed(&[question]).unwrap().pop().unwrap();
    let hits = search(&[seg], question, Some(&qv), 5, 0.0, |_, _| true);
    relevant(&hits, 3)
        .iter()
        .map(|h| Passage {
            key: h.passage.to_string(),
            speaker: Some(m.lines[h.passage].0.clone()),
            start_ms: None,
            text: m.lines[h.passage].1.clone(),
        })
        .collect()
}

/// Questions asked of each meeting (search, relevance, a quoted answer): answer support (the
/// first citation is a line that answers) and "not found" on the unanswerable ones.
fn question_eval(path: &PathBuf, embedder: &Embedder) {
    let meetings: Vec<Meeting> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let (mut answerable, mut supported, mut unanswerable, mut not_found) = (0, 0, 0, 0);
    for m in &meetings {
        let texts: Vec<&str> = m.lines.iter().map(|l| l.1.as_str()).collect();
        let vectors = embedder.embed(&texts).unwrap();
        let seg = Segment::build(&texts, Some(&vectors));
        for q in &m.questions {
            let passages = retrieve(m, &seg, &q.q, embedder);
            let a = answer(&q.q, &passages, None);
            if q.lines.is_empty() {
                unanswerable += 1;
                not_found += usize::from(a == Answer::NotFound);
            } else {
                answerable += 1;
                if let Answer::Found { citations, .. } = &a
                    && citations
                        .first()
                        .and_then(|c| c.parse::<usize>().ok())
                        .is_some_and(|line| q.lines.contains(&line))
                {
                    supported += 1;
                }
            }
        }
    }
    println!("questions_answerable\t{answerable}");
    println!(
        "answer_support\t{:.3}",
        supported as f64 / answerable.max(1) as f64
    );
    println!("questions_unanswerable\t{unanswerable}");
    println!(
        "not_found_rate\t{:.3}",
        not_found as f64 / unanswerable.max(1) as f64
    );
}

#[derive(serde::Deserialize)]
struct Gold {
    owner: Option<String>,
    task: String,
}

/// How many of `gold` the items match: the same owner (or both none) and at least half of the
/// gold task's words, each item matching once.
fn matched(items: &[ActionItem], gold: &[Gold]) -> usize {
    let mut used = vec![false; items.len()];
    let mut tp = 0;
    for g in gold {
        let gw: Vec<String> = g
            .task
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let hit = items.iter().enumerate().position(|(i, a)| {
            let aw = a.task.to_lowercase();
            let shared = gw.iter().filter(|w| aw.contains(w.as_str())).count();
            !used[i] && a.owner == g.owner && shared * 2 >= gw.len()
        });
        if let Some(i) = hit {
            used[i] = true;
            tp += 1;
        }
    }
    tp
}

/// Action items found against the gold list ([`matched`]).
fn action_item_eval(path: &PathBuf) {
    let meetings: Vec<Meeting> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let (mut tp, mut found, mut gold) = (0, 0, 0);
    for m in &meetings {
        let lines: Vec<Line<'_>> = m
            .lines
            .iter()
            .enumerate()
            .map(|(i, (s, x))| Line {
                speaker: s,
                start_ms: i as u64 * 5_000,
                text: x,
            })
            .collect();
        let mut speakers: Vec<&str> = m.lines.iter().map(|l| l.0.as_str()).collect();
        speakers.sort_unstable();
        speakers.dedup();
        let items = action_items(&lines, &speakers);
        found += items.len();
        gold += m.action_items.len();
        tp += matched(&items, &m.action_items);
    }
    println!("action_items_gold\t{gold}");
    println!("action_items_found\t{found}");
    println!(
        "action_items_precision\t{:.3}",
        tp as f64 / found.max(1) as f64
    );
    println!("action_items_recall\t{:.3}", tp as f64 / gold.max(1) as f64);
}
