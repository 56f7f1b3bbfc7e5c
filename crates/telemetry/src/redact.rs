//! What counts as a secret in a log line, and how it is masked: by key name (fields, JSON keys,
//! header names) and by shape in free text (`password=…`, `Bearer …`, `mvk_…` API keys).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

const SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "cookie",
    "private_key",
    "credential",
    "pepper",
    "recovery_code",
];

/// A field, JSON key or header named like a secret (`password`, `X-Api-Key`, `set-cookie`, …).
pub fn is_sensitive_key(name: &str) -> bool {
    let normalized = name.to_ascii_lowercase().replace('-', "_");
    SENSITIVE.iter().any(|s| normalized.contains(s))
}

static KEY_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:[a-z0-9_\-]*)(?:password|passwd|passphrase|secret|token|api[_\-]?key|authorization|cookie|private[_\-]?key|credential|pepper|recovery[_\-]?code)(?:[a-z0-9_\-]*)["']?\s*[:=]\s*["']?)((?:(?:bearer|basic|token|digest)\s+)?[^"'&,;\s}\]]+)"#,
    )
    .ok()
});
static AUTH_SCHEME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{4,}=*").ok());
static API_KEY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\bmvk_[A-Za-z0-9]{8,}\b").ok());

/// Masks secrets that appear as text: `key=value` pairs with a sensitive key, auth headers,
/// meetvault API keys. If a pattern could not be built, the whole text is withheld.
pub fn scrub_text(text: &str) -> String {
    let (Some(kv), Some(scheme), Some(key)) = (&*KEY_VALUE, &*AUTH_SCHEME, &*API_KEY) else {
        return REDACTED.to_owned();
    };
    let out = kv.replace_all(text, |c: &regex::Captures<'_>| {
        format!("{}{REDACTED}", &c[1])
    });
    let out = scheme.replace_all(&out, |c: &regex::Captures<'_>| {
        format!("{} {REDACTED}", &c[1])
    });
    key.replace_all(&out, REDACTED).into_owned()
}

/// Redacts a JSON value in place: values under sensitive keys are replaced, and every string
/// leaf is scrubbed as text.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive_key(k) {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) => *s = scrub_text(s),
        _ => {}
    }
}

/// A logged value as it is written: a nested JSON body or header map (`{…}`, `[…]`) is parsed and
/// redacted by key; anything else is scrubbed as text.
pub fn redact_value(name: &str, text: &str) -> Value {
    if is_sensitive_key(name) {
        return Value::String(REDACTED.to_owned());
    }
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(mut json) = serde_json::from_str::<Value>(text)
    {
        redact_json(&mut json);
        return json;
    }
    Value::String(scrub_text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names_are_recognised_in_any_spelling() {
        for name in [
            "password",
            "new_password",
            "X-Api-Key",
            "api_key",
            "Authorization",
            "set-cookie",
            "Cookie",
            "client_secret",
            "access_token",
            "private_key",
            "PEPPER",
        ] {
            assert!(is_sensitive_key(name), "{name}");
        }
        for name in ["request_id", "method", "status", "route", "user_agent"] {
            assert!(!is_sensitive_key(name), "{name}");
        }
    }

    #[test]
    fn free_text_secrets_are_masked() {
        let text = "login password=hunter2hunter2&user=bob token: abc123 Authorization: Bearer eyJhbGciOi.x.y key mvk_AbCdEf0123456789xyz";
        let out = scrub_text(text);
        for secret in [
            "hunter2hunter2",
            "abc123",
            "eyJhbGciOi",
            "mvk_AbCdEf0123456789xyz",
        ] {
            assert!(!out.contains(secret), "{secret} survived in {out}");
        }
        assert!(out.contains("user=bob"), "{out}");
    }

    #[test]
    fn nested_json_is_redacted_by_key() {
        let body = r#"{"user":{"email":"a@b.c","password":"pw-in-body","profile":{"api_key":"k1"}},
            "headers":{"authorization":"Bearer zzz-top","cookie":"sid=abc"},"list":[{"secret":"s"}]}"#;
        let v = redact_value("body", body);
        let s = v.to_string();
        for secret in ["pw-in-body", "k1", "zzz-top", "sid=abc", "\"s\""] {
            assert!(!s.contains(secret), "{secret} survived in {s}");
        }
        assert!(s.contains("a@b.c"));
    }
}
