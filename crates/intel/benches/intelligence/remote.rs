//! The evaluation set with a remote OpenAI-compatible model (bench/intelligence.sh starts
//! llama.cpp's server on loopback, or names another with BENCH_REMOTE_URL): each meeting's
//! summary asked for with the JSON schema the server uses (`structured::response_format`),
//! read and held to the transcript exactly as the summary job does (`structured::parse`,
//! `structured::check`), its action items scored against the gold lists; how often the
//! faithfulness gate let the overview and the points through; and each question answered by
//! the model over the same retrieved excerpts (`ask::answer` with the model as `generate`).
//! Loopback HTTP/1.1 only: the bench sends nothing anywhere else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use meetvault_intel::ask::{ANSWER_PROMPT, Answer, Method, answer};
use meetvault_intel::embed::Embedder;
use meetvault_intel::search::Segment;
use meetvault_intel::structured;
use meetvault_intel::summarize::Line;
use serde_json::{Value, json};

use super::{Meeting, matched, retrieve};

/// A POST of JSON to `http://127.0.0.1:PORT/…` (loopback only), the answer's JSON body.
fn post(url: &str, body: &Value) -> Result<Value, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the remote URL must be http:// on loopback")?;
    let (host, path) = rest.split_once('/').ok_or("no path in the URL")?;
    let addr: std::net::SocketAddr = host
        .parse()
        .map_err(|_| "the remote host must be an IP address and port")?;
    if !addr.ip().is_loopback() {
        return Err("the bench talks to loopback servers only".into());
    }
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(900)))
        .map_err(|e| e.to_string())?;
    let payload = body.to_string();
    let auth = std::env::var("BENCH_REMOTE_KEY")
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body)?;
    }
    if !head.starts_with("http/1.1 200") && !head.starts_with("http/1.0 200") {
        let status = head.lines().next().unwrap_or_default().to_owned();
        return Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&b[..end])
                .map_err(|e| e.to_string())?
                .trim(),
            16,
        )
        .map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(out);
        }
        let data = b.get(end + 2..end + 2 + size).ok_or("short chunk")?;
        out.extend_from_slice(data);
        b = &b[(end + 4 + size).min(b.len())..];
    }
}

/// One chat completion's text, in the first of `formats` the server takes (as the server's
/// summary job tries them), else prose.
fn chat(base: &str, model: &str, system: &str, user: &str, formats: Vec<Value>) -> Option<String> {
    let url = format!("{}/chat/completions", base.trim_end_matches('/'));
    let mut tries: Vec<Option<Value>> = formats.into_iter().map(Some).collect();
    tries.push(None);
    for format in tries {
        let mut body = json!({
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": if format.is_some() { 1024 } else { 300 },
            "temperature": 0,
        });
        if let Some(f) = format {
            body["response_format"] = f;
        }
        match post(&url, &body) {
            Ok(v) => {
                return v["choices"][0]["message"]["content"]
                    .as_str()
                    .map(str::to_owned);
            }
            Err(e) => eprintln!("bench: the remote model refused a format: {e}"),
        }
    }
    None
}

pub fn eval(path: &PathBuf, embedder: &Embedder, base: &str, model: &str) {
    let meetings: Vec<Meeting> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let started = Instant::now();
    let (mut tp, mut found, mut gold) = (0, 0, 0);
    let (mut drafts, mut parsed, mut overviews, mut proposed, mut dropped) = (0, 0, 0, 0, 0);
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
        drafts += 1;
        gold += m.action_items.len();
        let text = chat(
            base,
            model,
            structured::SYSTEM_PROMPT,
            &format!(
                "Transcript:\n{}\n\nSummary:",
                structured::numbered(&lines, 48_000)
            ),
            structured::response_formats(),
        );
        let Some(draft) = text.as_deref().and_then(structured::parse) else {
            continue;
        };
        parsed += 1;
        proposed += draft.key_points.len() + draft.decisions.len() + draft.action_items.len();
        let c = structured::check(draft, &lines);
        overviews += usize::from(c.overview.is_some());
        dropped += c.dropped;
        found += c.action_items.len();
        tp += matched(&c.action_items, &m.action_items);
    }
    println!("remote_summary_s\t{:.1}", started.elapsed().as_secs_f64());
    println!("remote_drafts_parsed\t{parsed}/{drafts}");
    println!("remote_overview_gate_pass\t{overviews}/{parsed}");
    println!(
        "remote_points_kept\t{}/{proposed}",
        proposed.saturating_sub(dropped)
    );
    println!("remote_action_items_found\t{found}");
    println!(
        "remote_action_items_precision\t{:.3}",
        tp as f64 / found.max(1) as f64
    );
    println!(
        "remote_action_items_recall\t{:.3}",
        tp as f64 / gold.max(1) as f64
    );

    // Questions: the same retrieval as the embedded path, the model writes the answer.
    let (mut answerable, mut supported, mut generated, mut unanswerable, mut not_found) =
        (0, 0, 0, 0, 0);
    for m in &meetings {
        let texts: Vec<&str> = m.lines.iter().map(|l| l.1.as_str()).collect();
        let vectors = embedder.embed(&texts).unwrap();
        let seg = Segment::build(&texts, Some(&vectors));
        for q in &m.questions {
            let passages = retrieve(m, &seg, &q.q, embedder);
            let mut model_answer = |question: &str, ex: &str| {
                chat(
                    base,
                    model,
                    ANSWER_PROMPT,
                    &format!("Question: {question}\n\nExcerpts:\n{ex}"),
                    Vec::new(),
                )
            };
            let a = answer(&q.q, &passages, Some(&mut model_answer));
            if q.lines.is_empty() {
                unanswerable += 1;
                not_found += usize::from(a == Answer::NotFound);
                continue;
            }
            answerable += 1;
            if let Answer::Found {
                citations, method, ..
            } = &a
            {
                generated += usize::from(*method == Method::Generated);
                if citations
                    .first()
                    .and_then(|c| c.parse::<usize>().ok())
                    .is_some_and(|line| q.lines.contains(&line))
                {
                    supported += 1;
                }
            }
        }
    }
    println!(
        "remote_answer_support\t{:.3}",
        supported as f64 / answerable.max(1) as f64
    );
    println!("remote_answers_generated\t{generated}/{answerable}");
    println!(
        "remote_not_found_rate\t{:.3}",
        not_found as f64 / unanswerable.max(1) as f64
    );
}
