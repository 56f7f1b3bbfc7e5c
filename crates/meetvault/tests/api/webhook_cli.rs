//! `meetvault webhook verify`, as someone checking their receiver runs it: a signed request
//! verifies (HMAC and Ed25519, CRLF and LF, with or without a request line); a changed byte, a
//! stale timestamp or the wrong key does not (exit 1); a key that is not one is a usage error
//! (exit 2) and no key is ever printed. And `docs/webhooks.md`: its examples are the catalog's,
//! and its Node, Python and Rust snippets verify real signatures. A missing `node` or Python
//! fails with the reason; nothing here passes by skipping.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use meetvault_core::webhooks::catalog::{EVENT_TYPES, examples};
use meetvault_crypto::webhook::SigningSecret;
use serde_json::{Value, json};

use crate::helpers::meetvault;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A delivery as meetvault sends it: its three headers and its body.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Delivery {
    /// Signed with every one of `secrets` (several during a rotation), at `timestamp`.
    fn signed(secrets: &[&SigningSecret], timestamp: i64, body: &[u8]) -> Self {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let signature = secrets
            .iter()
            .map(|s| s.sign(&id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            id,
            timestamp: timestamp.to_string(),
            signature,
            body: body.to_vec(),
        }
    }

    /// The raw request, lines ending with `eol`, optionally with its request line.
    fn request(&self, eol: &str, request_line: bool) -> Vec<u8> {
        let mut head = String::new();
        if request_line {
            head.push_str(&format!("POST /hooks/meetvault?x=1 HTTP/1.1{eol}"));
        }
        for (name, value) in [
            ("Host", "hooks.example.com"),
            ("User-Agent", "meetvault-webhooks/0.1.0"),
            ("Content-Type", "application/json"),
            ("Content-Length", &self.body.len().to_string()),
            ("Webhook-Id", &self.id),
            ("webhook-timestamp", &self.timestamp),
            ("WEBHOOK-SIGNATURE", &self.signature),
        ] {
            head.push_str(&format!("{name}: {value}{eol}"));
        }
        head.push_str(eol);
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// The headers as a receiver's framework hands them over (lower-case names).
    fn headers_json(&self) -> Value {
        json!({
            "webhook-id": self.id,
            "webhook-timestamp": self.timestamp,
            "webhook-signature": self.signature,
        })
    }
}

/// The example body of `bot.done`, as meetvault serialises a body.
fn bot_done_body() -> Vec<u8> {
    let (_, body) = examples()
        .into_iter()
        .find(|(t, _)| t.name == "bot.done")
        .unwrap();
    serde_json::to_vec(&body).unwrap()
}

/// What receivers verify with: the `whsec_` secret, or the `whpk_` public key.
fn verify_key(secret: &SigningSecret) -> String {
    secret
        .public_string()
        .unwrap_or_else(|| secret.to_secret_string().to_string())
}

fn run(input: &[u8], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = meetvault();
    cmd.args(["webhook", "verify"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A usage error exits before reading stdin: the pipe may be closed by then.
    if let Err(e) = child.stdin.take().unwrap().write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

#[test]
fn a_signed_request_verifies_with_hmac_and_ed25519_in_crlf_and_lf() {
    for secret in [
        SigningSecret::generate_hmac(),
        SigningSecret::generate_ed25519(),
    ] {
        let key = verify_key(&secret);
        for eol in ["\r\n", "\n"] {
            // The body ends with the line ending: it is signed, so it must not be trimmed.
            let mut body = bot_done_body();
            body.extend_from_slice(eol.as_bytes());
            let d = Delivery::signed(&[&secret], now(), &body);
            for request_line in [true, false] {
                let o = run(&d.request(eol, request_line), &["--secret", &key], &[]);
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "{eol:?} {request_line}: {}",
                    stderr(&o)
                );
                assert_eq!(stdout(&o), format!("verified: {} (bot.done)\n", d.id));
            }
            let o = run(&d.request(eol, true), &["--secret", &key, "--json"], &[]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            assert_eq!(
                json_of(&o),
                json!({"verified": true, "webhook_id": d.id, "type": "bot.done", "error": null})
            );
        }
    }

    // A body that is not JSON verifies too; there is no type to show.
    let secret = SigningSecret::generate_hmac();
    let d = Delivery::signed(&[&secret], now(), b"not json\n\n");
    let o = run(
        &d.request("\n", false),
        &["--secret", &verify_key(&secret)],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("verified: {}\n", d.id));
}

#[test]
fn a_changed_byte_fails_with_exit_1() {
    let secret = SigningSecret::generate_hmac();
    let key = verify_key(&secret);
    let d = Delivery::signed(&[&secret], now(), &bot_done_body());

    let mut changed = d.clone();
    changed.body[20] ^= 0x01;
    let o = run(&changed.request("\r\n", true), &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).starts_with("not verified: no signature in webhook-signature verifies"),
        "{}",
        stderr(&o)
    );

    let o = run(
        &changed.request("\r\n", true),
        &["--secret", &key, "--json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json_of(&o);
    assert_eq!(v["verified"], false);
    assert_eq!(v["webhook_id"], d.id.as_str());
    assert!(
        v["error"].as_str().unwrap().starts_with("no signature"),
        "{v}"
    );

    let mut other_id = d.clone();
    other_id.id = "msg_someone_else".into();
    let o = run(&other_id.request("\n", false), &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // A newline an editor added after the body: the reason says where to look.
    let mut input = d.request("\n", true);
    input.push(b'\n');
    let o = run(&input, &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "the body is {} bytes but Content-Length says {}",
            d.body.len() + 1,
            d.body.len()
        )),
        "{}",
        stderr(&o)
    );

    // An Ed25519 public key cannot check HMAC signatures: the reason says which key to use.
    let ed = verify_key(&SigningSecret::generate_ed25519());
    let o = run(&d.request("\n", true), &["--secret", &ed], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the signatures are v1 (HMAC)"),
        "{}",
        stderr(&o)
    );

    // A header missing, or given twice.
    let o = run(
        b"webhook-id: msg_1\nwebhook-timestamp: 1\n\n{}",
        &["--secret", &key],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("webhook-signature header is missing"),
        "{}",
        stderr(&o)
    );
    let mut twice = b"webhook-id: msg_other\n".to_vec();
    twice.extend_from_slice(&d.request("\n", false));
    let o = run(&twice, &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("appears more than once"),
        "{}",
        stderr(&o)
    );
    // An absurd timestamp is refused, not a crash.
    let mut absurd = d.clone();
    absurd.timestamp = i64::MIN.to_string();
    let o = run(&absurd.request("\n", false), &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn a_six_minute_old_timestamp_fails_unless_the_tolerance_allows_it() {
    let secret = SigningSecret::generate_ed25519();
    let key = verify_key(&secret);
    let old = Delivery::signed(&[&secret], now() - 360, &bot_done_body());
    let o = run(&old.request("\r\n", true), &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("too old"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--tolerance"), "{}", stderr(&o));

    let o = run(
        &old.request("\r\n", true),
        &["--secret", &key, "--tolerance", "400"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let future = Delivery::signed(&[&secret], now() + 360, &bot_done_body());
    let o = run(&future.request("\n", true), &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("in the future"), "{}", stderr(&o));

    let o = run(
        &old.request("\n", true),
        &["--secret", &key, "--tolerance", "-1"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn during_a_rotation_either_secret_verifies() {
    let (old, new) = (
        SigningSecret::generate_hmac(),
        SigningSecret::generate_hmac(),
    );
    let (old_key, new_key) = (verify_key(&old), verify_key(&new));
    // The overlap: meetvault signs with both; a receiver with either key accepts.
    let both = Delivery::signed(&[&new, &old], now(), &bot_done_body());
    for key in [&old_key, &new_key] {
        let o = run(&both.request("\r\n", true), &["--secret", key], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    // After it: only the new one signs; a receiver holding both keys accepts.
    let after = Delivery::signed(&[&new], now(), &bot_done_body());
    let o = run(
        &after.request("\n", true),
        &["--secret", &old_key, "--secret", &new_key],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(
        &after.request("\n", true),
        &["--secret-env", "OLD", "--secret-env", "NEW"],
        &[("OLD", &old_key), ("NEW", &new_key)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(
        &after.request("\n", true),
        &["--secret-env", "OLD"],
        &[("OLD", &old_key)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn a_bad_secret_exits_2_and_no_secret_is_ever_printed() {
    let secret = SigningSecret::generate_hmac();
    let d = Delivery::signed(&[&secret], now(), &bot_done_body());
    let input = d.request("\r\n", true);
    let printed = |o: &Output, text: &str| {
        let all = format!("{}{}", stdout(o), stderr(o));
        let raw = text.split_once('_').map_or(text, |(_, b)| b);
        all.contains(text) || (raw.len() >= 6 && all.contains(raw))
    };
    for bad in [
        "whsec_!!!this-is-no-base64!!!",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "whpk_c2hvcnQta2V5LW9ubHk=",
        "d2hzZWNfd2l0aG91dF9wcmVmaXg=",
    ] {
        for json in [false, true] {
            let mut args = vec!["--secret", bad];
            if json {
                args.push("--json");
            }
            let o = run(&input, &args, &[]);
            assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
            assert!(
                !printed(&o, bad),
                "{bad} printed: {}{}",
                stdout(&o),
                stderr(&o)
            );
            let message = if json {
                json_of(&o)["error"].as_str().unwrap().to_owned()
            } else {
                stderr(&o)
            };
            assert!(
                message.contains("whsec_ followed by base64") && message.contains("whpk_"),
                "{message}"
            );
        }
        let o = run(&input, &["--secret-env", "KEY"], &[("KEY", bad)]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("KEY does not hold a webhook key"),
            "{}",
            stderr(&o)
        );
        assert!(!printed(&o, bad), "{bad} printed: {}", stderr(&o));
    }

    // A real key that is not this endpoint's: not verified, and not printed either.
    let other = SigningSecret::generate_hmac();
    let other_key = verify_key(&other);
    for args in [
        vec!["--secret", other_key.as_str()],
        vec!["--secret", other_key.as_str(), "--json"],
    ] {
        let o = run(&input, &args, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(!printed(&o, &other_key), "{}{}", stdout(&o), stderr(&o));
    }
    let o = run(&input, &["--secret", &verify_key(&secret)], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!printed(&o, &verify_key(&secret)), "{}", stdout(&o));

    let o = run(&input, &["--secret-env", "MEETVAULT_TEST_UNSET_KEY"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("MEETVAULT_TEST_UNSET_KEY is not set"),
        "{}",
        stderr(&o)
    );
    let o = run(&input, &[], &[]);
    assert_eq!(o.status.code(), Some(2), "no key at all: {}", stderr(&o));
}

#[test]
fn input_that_is_not_a_request_exits_2() {
    let secret = SigningSecret::generate_hmac();
    let key = verify_key(&secret);
    let d = Delivery::signed(&[&secret], now(), &bot_done_body());
    // Headers and body with no blank line between them.
    let mut input = d.request("\n", true);
    let blank = input.windows(2).position(|w| w == b"\n\n").unwrap();
    input.remove(blank);
    let o = run(&input, &["--secret", &key], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no blank line"), "{}", stderr(&o));
    // Only headers, the blank line missing.
    let o = run(
        format!("webhook-id: {}\nwebhook-timestamp: {}\n", d.id, d.timestamp).as_bytes(),
        &["--secret", &key],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = run(b"", &["--secret", &key, "--json"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json_of(&o)["verified"], false);
}

// --- docs/webhooks.md ---

fn docs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhooks.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fenced blocks (`lang`) in the section under the heading `heading` (up to the next
/// heading of the same or a higher level).
fn blocks(doc: &str, heading: &str, lang: &str) -> Vec<String> {
    let level = heading.split(' ').next().unwrap();
    let mut lines = doc.lines().skip_while(|l| *l != heading);
    assert!(
        lines.next().is_some(),
        "docs/webhooks.md has no `{heading}`"
    );
    let mut out = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in lines {
        if current.is_none()
            && line.starts_with('#')
            && line
                .split(' ')
                .next()
                .is_some_and(|h| h.len() <= level.len())
        {
            break;
        }
        match &mut current {
            None if line == format!("```{lang}") => current = Some(Vec::new()),
            Some(body) if line == "```" => {
                out.push(body.join("\n"));
                current = None;
            }
            Some(body) => body.push(line),
            None => {}
        }
    }
    out
}

#[test]
fn the_docs_show_every_event_type_with_the_catalogs_example() {
    let doc = docs();
    let lines: Vec<&str> = doc.lines().collect();
    let mut documented = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.strip_prefix("### ") else {
            continue;
        };
        // An event type's section: `### bot.done`, its example directly under it.
        if !name.contains('.') || name.contains(' ') {
            continue;
        }
        let Some((t, example)) = examples().into_iter().find(|(t, _)| t.name == name) else {
            panic!("docs/webhooks.md documents `{name}`, which is not an event type");
        };
        let expected = serde_json::to_string_pretty(&example).unwrap();
        let mut rest = lines[i + 1..].iter().skip_while(|l| l.is_empty());
        assert_eq!(
            rest.next(),
            Some(&"```json"),
            "`### {name}` must be followed by its ```json example:\n```json\n{expected}\n```"
        );
        let block: Vec<&str> = rest.take_while(|l| **l != "```").copied().collect();
        assert_eq!(
            block.join("\n"),
            expected,
            "the example of `{name}` in docs/webhooks.md differs from the catalog's; it is:\n```json\n{expected}\n```"
        );
        documented.push(t.name);
    }
    for t in EVENT_TYPES {
        assert!(
            documented.contains(&t.name),
            "docs/webhooks.md has no `### {}` section; add:\n### {}\n\n```json\n{}\n```",
            t.name,
            t.name,
            examples()
                .into_iter()
                .find(|(e, _)| e.name == t.name)
                .map(|(_, v)| serde_json::to_string_pretty(&v).unwrap())
                .unwrap_or_default()
        );
        assert!(
            doc.contains(&format!("| `{}` |", t.name)),
            "the event table of docs/webhooks.md has no row for `{}`",
            t.name
        );
    }
    assert_eq!(
        documented.len(),
        EVENT_TYPES.len(),
        "a type documented twice"
    );
}

/// Deliveries a receiver must accept (true) or refuse (false), with the secret they are for.
fn cases() -> (String, Vec<(Delivery, bool)>) {
    let secret = SigningSecret::generate_hmac();
    let other = SigningSecret::generate_hmac();
    let body = bot_done_body();
    let good = Delivery::signed(&[&secret], now(), &body);
    let mut changed = good.clone();
    changed.body[10] ^= 0x01;
    let rotation = Delivery::signed(&[&other, &secret], now(), &body);
    let stale = Delivery::signed(&[&secret], now() - 360, &body);
    let wrong = Delivery::signed(&[&other], now(), &body);
    let ed = Delivery::signed(&[&SigningSecret::generate_ed25519()], now(), &body);
    (
        secret.to_secret_string().to_string(),
        vec![
            (good, true),
            (changed, false),
            (rotation, true),
            (stale, false),
            (wrong, false),
            (ed, false),
        ],
    )
}

fn cases_json(cases: &[(Delivery, bool)]) -> String {
    use base64::Engine as _;
    let list: Vec<Value> = cases
        .iter()
        .map(|(d, _)| {
            json!({
                "headers": d.headers_json(),
                "body": base64::engine::general_purpose::STANDARD.encode(&d.body),
            })
        })
        .collect();
    serde_json::to_string(&list).unwrap()
}

/// Runs `program args` with `stdin`; its stdout lines.
fn run_snippet(mut cmd: Command, stdin: &str, what: &str) -> Vec<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {what} ({cmd:?}): {e}; it is needed to test docs/webhooks.md")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o).lines().map(str::to_owned).collect()
}

#[test]
fn the_docs_node_snippet_verifies_real_deliveries() {
    let doc = docs();
    let js = blocks(&doc, "### Node", "js");
    assert_eq!(
        js.len(),
        2,
        "### Node: the function, then a server using it"
    );
    let dir = tempfile::tempdir().unwrap();
    // The server example at least parses.
    let server = dir.path().join("server.js");
    std::fs::write(&server, format!("{}\n{}\n", js[0], js[1])).unwrap();
    let o = Command::new("node")
        .arg("--check")
        .arg(&server)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}; it is needed to test docs/webhooks.md"));
    assert!(o.status.success(), "{}", stderr(&o));

    let (secret, cases) = cases();
    let script = dir.path().join("verify.js");
    std::fs::write(
        &script,
        format!(
            "{}\n\nconst cases = JSON.parse(require(\"node:fs\").readFileSync(0, \"utf8\"));\n\
             for (const c of cases) {{\n  try {{\n    \
             const event = verifyWebhook(process.env.SECRET, c.headers, Buffer.from(c.body, \"base64\"));\n    \
             console.log(\"ok \" + event.type);\n  }} catch (e) {{\n    console.log(\"refused: \" + e.message);\n  }}\n}}\n",
            js[0]
        ),
    )
    .unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(&script).env("SECRET", &secret);
    let out = run_snippet(cmd, &cases_json(&cases), "node");
    let expected: Vec<bool> = cases.iter().map(|(_, ok)| *ok).collect();
    let got: Vec<bool> = out.iter().map(|l| l == "ok bot.done").collect();
    assert_eq!(got, expected, "{out:?}");
}

fn python() -> PathBuf {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/standardwebhooks.sh"
    );
    let o = Command::new(script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(o.status.success(), "{script}: {}", stderr(&o));
    PathBuf::from(stdout(&o).trim())
}

#[test]
fn the_docs_python_snippet_verifies_real_deliveries() {
    let doc = docs();
    let py = blocks(&doc, "### Python", "python");
    assert_eq!(py.len(), 1, "### Python: one snippet");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("verify.py");
    std::fs::write(
        &script,
        format!(
            "{}\n\nimport base64, json, sys\nfor c in json.load(sys.stdin):\n    \
             print(handle(base64.b64decode(c[\"body\"]), c[\"headers\"]))\n",
            py[0]
        ),
    )
    .unwrap();
    let (secret, cases) = cases();
    let mut cmd = Command::new(python());
    cmd.arg(&script).env("MEETVAULT_WEBHOOK_SECRET", &secret);
    let out = run_snippet(cmd, &cases_json(&cases), "python");
    let expected: Vec<&str> = cases
        .iter()
        .map(|(_, ok)| if *ok { "204" } else { "400" })
        .collect();
    assert_eq!(out, expected);
}

/// The Rust snippets of docs/webhooks.md, verbatim (the test below compares them).
mod rust_snippets {
    // snippet:begin
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// Checks a delivery signed with a `whsec_` secret: the values of the three `webhook-*`
    /// headers, the body exactly as received, and the current Unix time in seconds.
    pub fn verify_webhook(
        secret: &str,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), &'static str> {
        let sent: i64 = timestamp.parse().map_err(|_| "bad webhook-timestamp")?;
        if now.abs_diff(sent) > 300 {
            return Err("webhook-timestamp is more than 5 minutes away: a replay?");
        }
        let key = secret
            .strip_prefix("whsec_")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .ok_or("not a whsec_ secret")?;
        for signature in signatures.split(' ') {
            let Some(given) = signature.strip_prefix("v1,") else {
                continue;
            };
            let Ok(given) = STANDARD.decode(given) else {
                continue;
            };
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| "bad key")?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            // verify_slice compares in constant time.
            if mac.verify_slice(&given).is_ok() {
                return Ok(());
            }
        }
        Err("no signature matches")
    }
    // snippet:end

    pub mod with_meetvault_crypto {
        // snippet:begin
        use meetvault_crypto::webhook::{self, Headers, VerifyKey, WebhookError};

        /// `key`: `whsec_…` (HMAC) or `whpk_…` (Ed25519); `now`: Unix seconds.
        pub fn verify_webhook(
            key: &str,
            headers: Headers<'_>,
            body: &[u8],
            now: i64,
        ) -> Result<(), WebhookError> {
            let key = VerifyKey::parse(key)?;
            webhook::verify(&[key], headers, body, now, webhook::DEFAULT_TOLERANCE_SECS)
        }
        // snippet:end
    }
}

/// The regions between `// snippet:begin` and `// snippet:end` of this file, unindented.
fn own_snippets() -> Vec<String> {
    let source = include_str!("webhook_cli.rs");
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in source.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == "// snippet:begin" => {
                current = Some((line.len() - trimmed.len(), Vec::new()));
            }
            Some((_, body)) if trimmed == "// snippet:end" => {
                out.push(body.join("\n"));
                current = None;
            }
            Some((indent, body)) => body.push(line.get(*indent..).unwrap_or("").to_owned()),
            None => {}
        }
    }
    out
}

#[test]
fn the_docs_rust_snippets_are_the_ones_compiled_here_and_verify() {
    let doc = docs();
    assert_eq!(
        blocks(&doc, "### Rust", "rust"),
        own_snippets(),
        "the Rust snippets of docs/webhooks.md must be the regions of tests/api/webhook_cli.rs \
         between `// snippet:begin` and `// snippet:end`"
    );
    let (secret, cases) = cases();
    for (d, ok) in &cases {
        let got = rust_snippets::verify_webhook(
            &secret,
            &d.id,
            &d.timestamp,
            &d.signature,
            &d.body,
            now(),
        );
        assert_eq!(got.is_ok(), *ok, "{d:?}: {got:?}");
        let headers = meetvault_crypto::webhook::Headers {
            id: Some(&d.id),
            timestamp: Some(&d.timestamp),
            signature: Some(&d.signature),
        };
        let got =
            rust_snippets::with_meetvault_crypto::verify_webhook(&secret, headers, &d.body, now());
        assert_eq!(got.is_ok(), *ok, "{d:?}: {got:?}");
    }
}
