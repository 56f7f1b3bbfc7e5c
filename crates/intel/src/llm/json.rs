//! Answers held to a JSON schema, token by token (OpenAI's structured outputs, for meetvault as
//! a model server): the structure — braces, keys in the schema's order, commas, `null`,
//! `true`/`false` — is written by this code, and the model chooses only what the schema leaves
//! open: the characters of a string (never a quote, a backslash or a control character, so no
//! escaping is needed), the digits of an integer, which of a union's or an enum's branches,
//! and whether an array goes on. Whatever the model does, the answer parses and matches the
//! schema; when `max_tokens` runs out, strings and arrays close early and the answer still
//! parses. Greedy, with a repetition penalty inside strings (a small model loops otherwise).
//! Supported: `type` (one, or one with `null`), `properties` (all are written, in the order
//! of their names: JSON objects are unordered and the schema is read as one), `items`, `enum`
//! of strings, `maxItems`, `maxLength`; `$ref`, `anyOf`, `oneOf`, `allOf`, `pattern` and
//! `format` are refused by [`check_schema`] rather than ignored.

use serde_json::Value;

use super::{ChatModel, Completion, Finish, Message, PROMPT_CHUNK, llama};
use crate::error::{IntelError, Result};

/// Items an array gets at most when the schema sets no `maxItems`.
const DEFAULT_MAX_ITEMS: usize = 8;
/// Characters a string gets at most when the schema sets no `maxLength`.
const DEFAULT_MAX_CHARS: usize = 400;
/// Digits an integer gets at most.
const MAX_DIGITS: usize = 9;
/// How deep a schema may nest.
const MAX_DEPTH: usize = 8;
/// The repetition penalty on tokens the answer's strings already hold (llama.cpp's way: a
/// positive logit divided by it, a negative one multiplied).
const REPEAT_PENALTY: f32 = 1.3;

/// Why a schema cannot be followed, naming the keyword; `Ok` when [`ChatModel::complete_json`]
/// can hold an answer to it.
pub fn check_schema(schema: &Value) -> std::result::Result<(), String> {
    check(schema, 0)
}

fn check(s: &Value, depth: usize) -> std::result::Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("the schema nests deeper than {MAX_DEPTH} levels"));
    }
    let obj = s.as_object().ok_or("every schema must be an object")?;
    for k in [
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "pattern",
        "format",
        "patternProperties",
    ] {
        if obj.contains_key(k) {
            return Err(format!("`{k}` is not supported in a response schema"));
        }
    }
    if let Some(e) = obj.get("enum") {
        let all_strings = e
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string));
        return if all_strings {
            Ok(())
        } else {
            Err("`enum` must list strings".into())
        };
    }
    match kind(s)? {
        "string" | "integer" | "number" | "boolean" | "null" => Ok(()),
        "array" => check(obj.get("items").ok_or("an array needs `items`")?, depth + 1),
        "object" => {
            let props = obj
                .get("properties")
                .and_then(Value::as_object)
                .ok_or("an object needs `properties`")?;
            props.values().try_for_each(|p| check(p, depth + 1))
        }
        other => Err(format!("type `{other}` is not supported")),
    }
}

/// The schema's one non-null type (`["string", "null"]` is `string`).
fn kind(s: &Value) -> std::result::Result<&str, String> {
    match s.get("type") {
        Some(Value::String(t)) => Ok(t),
        Some(Value::Array(ts)) => {
            let real: Vec<&str> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match real.as_slice() {
                [one] => Ok(one),
                [] => Ok("null"),
                _ => Err("a union of more than one type and null is not supported".into()),
            }
        }
        _ => Err("every schema needs a `type` (or an `enum`)".into()),
    }
}

fn nullable(s: &Value) -> bool {
    s.get("type")
        .and_then(Value::as_array)
        .is_some_and(|ts| ts.iter().any(|t| t == "null"))
}

/// One constrained answer in progress.
struct Gen<'m> {
    m: &'m ChatModel,
    cache: super::llama::Cache,
    logits: Vec<f32>,
    out: String,
    /// Tokens fed after the prompt (the model's and ours), and the most there may be.
    used: usize,
    budget: usize,
    /// Tokens the model chose inside strings (penalized when chosen again).
    said: std::collections::HashSet<u32>,
}

impl Gen<'_> {
    fn spent(&self) -> bool {
        self.used >= self.budget
    }

    fn feed(&mut self, ids: &[u32]) -> Result<()> {
        for chunk in ids.chunks(PROMPT_CHUNK) {
            self.logits = self
                .m
                .model
                .forward(chunk, &mut self.cache, false)?
                .to_vec1()?;
        }
        self.used += ids.len();
        Ok(())
    }

    /// Writes `text` (structure the schema fixes) and lets the model read it.
    fn force(&mut self, text: &str) -> Result<()> {
        let ids = self.m.tokenizer.encode(text)?;
        self.out.push_str(text);
        self.feed(&ids)
    }

    /// The option whose first token the model prefers.
    fn choose(&self, options: &[&str]) -> Result<usize> {
        let mut best = (0, f32::NEG_INFINITY);
        for (i, o) in options.iter().enumerate() {
            let first = *self
                .m
                .tokenizer
                .encode(o)?
                .first()
                .ok_or_else(|| IntelError::Input("an empty option".into()))?;
            let score = self.logits.get(first as usize).copied().unwrap_or(f32::MIN);
            if score > best.1 {
                best = (i, score);
            }
        }
        Ok(best.0)
    }

    /// The best token whose text `allow` accepts (repeats penalized when `penalize`).
    fn best(&self, penalize: bool, allow: impl Fn(u32, &str) -> bool) -> Option<u32> {
        let vocab = self.m.vocab();
        let mut best: Option<(u32, f32)> = None;
        for (id, &raw) in self.logits.iter().enumerate() {
            let id = u32::try_from(id).ok()?;
            let score = if penalize && self.said.contains(&id) {
                if raw > 0.0 {
                    raw / REPEAT_PENALTY
                } else {
                    raw * REPEAT_PENALTY
                }
            } else {
                raw
            };
            if best.is_some_and(|(_, b)| b >= score) {
                continue;
            }
            if let Some(text) = vocab.get(id as usize)
                && allow(id, text)
            {
                best = Some((id, score));
            }
        }
        best.map(|(id, _)| id)
    }

    fn string(&mut self, max_chars: usize) -> Result<()> {
        self.force("\"")?;
        let mut chars = 0;
        while !self.spent() && chars < max_chars {
            let vocab = self.m.vocab();
            let top = self.best(true, |_, _| true).unwrap_or(0);
            let text = vocab.get(top as usize).map(String::as_str).unwrap_or("");
            // The model ends the string where it would have closed it (or stopped).
            if self.m.stops.contains(&top)
                || text.starts_with('"')
                || (chars > 0 && text.contains('"'))
            {
                break;
            }
            let fits = |t: &str| {
                !t.is_empty()
                    && !t.contains(['"', '\\', '\u{fffd}'])
                    && !t.chars().any(char::is_control)
            };
            let Some(id) = self.best(true, |id, t| !self.m.stops.contains(&id) && fits(t)) else {
                break;
            };
            self.said.insert(id);
            let piece = vocab[id as usize].clone();
            let room = max_chars - chars;
            if piece.chars().count() > room {
                break;
            }
            chars += piece.chars().count();
            self.out.push_str(&piece);
            self.feed(&[id])?;
        }
        self.force("\"")
    }

    fn integer(&mut self) -> Result<()> {
        let mut digits = String::new();
        while digits.len() < MAX_DIGITS && !self.spent() && digits != "0" {
            let digit = |_: u32, t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            let Some(best_digit) = self.best(false, digit) else {
                break;
            };
            let top = llama::argmax_slice(&self.logits);
            if !digits.is_empty() && top != best_digit {
                break;
            }
            let mut piece = self.m.vocab()[best_digit as usize].clone();
            if digits.is_empty() && piece.starts_with('0') {
                piece.truncate(1);
            }
            piece.truncate(MAX_DIGITS - digits.len());
            digits.push_str(&piece);
            self.out.push_str(&piece);
            self.feed(&[best_digit])?;
        }
        if digits.is_empty() {
            self.force("0")?;
        }
        Ok(())
    }

    fn value(&mut self, s: &Value) -> Result<()> {
        let bad = |m: String| IntelError::Input(m);
        if let Some(options) = s.get("enum").and_then(Value::as_array) {
            let encoded: Vec<String> = options.iter().map(Value::to_string).collect();
            let refs: Vec<&str> = encoded.iter().map(String::as_str).collect();
            let i = self.choose(&refs)?;
            return self.force(&encoded[i]);
        }
        let kind = kind(s).map_err(bad)?;
        if nullable(s) && kind != "null" {
            let open = match kind {
                "string" => "\"",
                "array" => "[",
                "object" => "{",
                "boolean" => "true",
                _ => "1",
            };
            if self.spent() || self.choose(&["null", open])? == 0 {
                return self.force("null");
            }
        }
        match kind {
            "string" => {
                let max = s
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .map_or(DEFAULT_MAX_CHARS, |m| {
                        usize::try_from(m).unwrap_or(usize::MAX)
                    });
                self.string(max)
            }
            "integer" | "number" => self.integer(),
            "boolean" => {
                let b = ["true", "false"][self.choose(&["true", "false"])?];
                self.force(b)
            }
            "null" => self.force("null"),
            "array" => {
                let items = s.get("items").ok_or_else(|| bad("no items".into()))?;
                let max = s
                    .get("maxItems")
                    .and_then(Value::as_u64)
                    .map_or(DEFAULT_MAX_ITEMS, |m| {
                        usize::try_from(m).unwrap_or(usize::MAX)
                    });
                let open = match kind_of(items) {
                    "string" => "\"",
                    "object" => "{",
                    "array" => "[",
                    _ => "1",
                };
                self.force("[")?;
                let mut n = 0;
                while n < max && !self.spent() {
                    let more = if n == 0 {
                        self.choose(&["]", open])? == 1
                    } else {
                        self.choose(&["]", ","])? == 1
                    };
                    if !more {
                        break;
                    }
                    if n > 0 {
                        self.force(", ")?;
                    }
                    self.value(items)?;
                    n += 1;
                }
                self.force("]")
            }
            "object" => {
                let props = s
                    .get("properties")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad("no properties".into()))?;
                self.force("{")?;
                for (i, (key, sub)) in props.iter().enumerate() {
                    let key = Value::String(key.clone()).to_string();
                    self.force(&format!("{}{key}: ", if i > 0 { ", " } else { "" }))?;
                    self.value(sub)?;
                }
                self.force("}")
            }
            other => Err(bad(format!("type {other} is not supported"))),
        }
    }
}

fn kind_of(s: &Value) -> &str {
    if s.get("enum").is_some() {
        return "string";
    }
    kind(s).unwrap_or("string")
}

impl ChatModel {
    /// Answers `messages` with JSON matching `schema` (see the module; check it first with
    /// [`check_schema`]). Greedy; `max_tokens` bounds the tokens written, the schema's
    /// structure included.
    pub fn complete_json(
        &self,
        messages: &[Message],
        schema: &Value,
        max_tokens: usize,
    ) -> Result<Completion> {
        check_schema(schema).map_err(IntelError::Input)?;
        let prompt = self.prompt_ids(messages)?;
        let context = self.context();
        if prompt.len() >= context {
            return Err(IntelError::Input(format!(
                "the prompt is {} tokens; this model's context is {context}",
                prompt.len()
            )));
        }
        let mut g = Gen {
            m: self,
            cache: self.model.cache(),
            logits: Vec::new(),
            out: String::new(),
            used: 0,
            budget: max_tokens.min(context - prompt.len()),
            said: std::collections::HashSet::new(),
        };
        g.feed(&prompt)?;
        g.used = 0;
        g.value(schema)?;
        Ok(Completion {
            completion_tokens: g.used,
            prompt_tokens: prompt.len(),
            finish: if g.spent() {
                Finish::Length
            } else {
                Finish::Stop
            },
            ids: Vec::new(),
            text: g.out,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_schema;

    #[test]
    fn schemas_are_refused_by_the_keyword_they_use() {
        assert!(check_schema(&crate::structured::schema()).is_ok());
        assert!(check_schema(&json!({"enum": ["a", "b"]})).is_ok());
        for (bad, word) in [
            (json!({"$ref": "#/x"}), "$ref"),
            (json!({"type": "string", "pattern": "x"}), "pattern"),
            (json!({"anyOf": []}), "anyOf"),
            (json!({"type": "array"}), "items"),
            (json!({"type": "object"}), "properties"),
            (json!({"type": ["string", "integer"]}), "union"),
            (json!({"enum": [1, 2]}), "enum"),
            (json!("string"), "object"),
            (json!({"type": "uuid"}), "uuid"),
        ] {
            let e = check_schema(&bad).unwrap_err();
            assert!(e.contains(word), "{bad}: {e}");
        }
        let mut deep = json!({"type": "string"});
        for _ in 0..10 {
            deep = json!({"type": "array", "items": deep});
        }
        assert!(check_schema(&deep).unwrap_err().contains("deeper"));
    }
}
