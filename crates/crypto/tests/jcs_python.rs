//! `jcs` against a canonicalizer that is not meetvault's: Trail of Bits' `rfc8785` (PyPI, in the
//! tools virtualenv `scripts/deps.sh` makes), on 2,000 generated documents with hostile text —
//! control characters, quotes and backslashes, U+2028/U+2029, DEL, astral characters whose
//! UTF-16 order differs from their code-point order, empty keys, deep nesting — and integers up
//! to ±(2^53 − 1). A missing Python or package fails with the reason.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use meetvault_crypto::jcs;
use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self) -> String {
        const PICKS: &[char] = &[
            'a',
            'Z',
            '0',
            ' ',
            '"',
            '\\',
            '/',
            '\u{0}',
            '\u{1}',
            '\u{8}',
            '\u{9}',
            '\u{a}',
            '\u{c}',
            '\u{d}',
            '\u{1f}',
            '\u{7f}',
            '\u{80}',
            '\u{e9}',
            '\u{2028}',
            '\u{2029}',
            '\u{20ac}',
            '\u{fb33}',
            '\u{fffd}',
            '\u{ffff}',
            '\u{10000}',
            '\u{1f600}',
            '\u{10ffff}',
            '\u{5d0}',
            '\u{30c4}',
        ];
        let len = self.below(12);
        (0..len)
            .map(|_| PICKS[self.below(PICKS.len() as u64) as usize])
            .collect()
    }

    fn int(&mut self) -> Value {
        const MAX: i64 = (1 << 53) - 1;
        match self.below(5) {
            0 => json!(0),
            1 => json!(MAX),
            2 => json!(-MAX),
            3 => json!((self.next() % (MAX as u64)) as i64),
            _ => json!(-((self.next() % 1000) as i64)),
        }
    }

    fn value(&mut self, depth: u32) -> Value {
        let pick = if depth >= 4 {
            self.below(4)
        } else {
            self.below(6)
        };
        match pick {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => self.int(),
            3 => Value::String(self.text()),
            4 => Value::Array((0..self.below(5)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut map = Map::new();
                for _ in 0..self.below(6) {
                    map.insert(self.text(), self.value(depth + 1));
                }
                Value::Object(map)
            }
        }
    }
}

#[test]
fn the_canonical_bytes_are_rfc8785s() {
    let python = PathBuf::from(std::env::var("HOME").unwrap())
        .join(".cache/meetvault-tools/venv/bin/python");
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let docs: Vec<Value> = (0..2000).map(|_| g.value(0)).collect();
    let mut input = String::new();
    for d in &docs {
        input.push_str(&serde_json::to_string(d).unwrap());
        input.push('\n');
    }
    let script = "import sys, json, base64, rfc8785\n\
        for line in sys.stdin:\n\
        \x20   print(base64.b64encode(rfc8785.dumps(json.loads(line))).decode())";
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{} (scripts/deps.sh makes it): {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "rfc8785 failed (scripts/deps.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(theirs.len(), docs.len());
    let mut differ = 0;
    for (doc, b64) in docs.iter().zip(theirs) {
        use base64::Engine as _;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let ours = jcs::canonicalize(doc).unwrap();
        if ours.as_bytes() != expected.as_slice() {
            differ += 1;
            if differ <= 3 {
                eprintln!(
                    "differs on {doc}\n ours:   {ours}\n theirs: {}",
                    String::from_utf8_lossy(&expected)
                );
            }
        }
    }
    assert_eq!(differ, 0, "{differ} of {} documents differ", docs.len());
}
