//! What counts as a secret in a log line, and how it is masked: by key name (fields, JSON keys,
//! header names) and by shape in free text (`password=…`, `Bearer …`, and every token shape
//! meetvault issues: `mvk_…` API keys, `mvs_…` support keys, `mvi_…` invitations, `mvb_…` bot tokens, session
//! tokens, recovery codes, zero-access recovery keys and known-device cookies).

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
/// The token shapes meetvault issues (see `meetvault_auth::token` and `recovery`):
/// prefixed keys and invitations (also their 8-character lookup ids), known-device cookies
/// (`<32 hex>.<64 hex>.<64 hex>`), zero-access recovery keys (eight dash-separated groups of
/// eight hex digits) and recovery codes (four groups of four Crockford base32 symbols).
static TOKENS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"mv[ksib]_[A-Za-z0-9]{8,}",
        r"|\b[0-9a-f]{32}\.[0-9a-f]{64}\.[0-9a-f]{64}\b",
        r"|\b[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{8}){7}\b",
        r"|\b[0-9a-hjkmnp-tv-z]{4}(?:-[0-9a-hjkmnp-tv-z]{4}){3}\b",
    ))
    .ok()
});
/// Runs of base64url characters: a run of exactly a session token's length (43: 32 random
/// bytes, unpadded) is masked.
static B64URL_RUN: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9_\-]+").ok());
const SESSION_TOKEN_CHARS: usize = 43;

/// Masks secrets that appear as text: `key=value` pairs with a sensitive key, auth headers,
/// meetvault's token shapes. If a pattern could not be built, the whole text is withheld.
pub fn scrub_text(text: &str) -> String {
    let (Some(kv), Some(scheme), Some(tokens), Some(run)) =
        (&*KEY_VALUE, &*AUTH_SCHEME, &*TOKENS, &*B64URL_RUN)
    else {
        return REDACTED.to_owned();
    };
    let out = kv.replace_all(text, |c: &regex::Captures<'_>| {
        format!("{}{REDACTED}", &c[1])
    });
    let out = scheme.replace_all(&out, |c: &regex::Captures<'_>| {
        format!("{} {REDACTED}", &c[1])
    });
    let out = tokens.replace_all(&out, REDACTED);
    run.replace_all(&out, |c: &regex::Captures<'_>| {
        if c[0].len() == SESSION_TOKEN_CHARS {
            REDACTED.to_owned()
        } else {
            c[0].to_owned()
        }
    })
    .into_owned()
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
    fn every_token_shape_meetvault_issues_is_masked_in_free_text() {
        let shapes = [
            ("api key", "mvk_3fA9xQ2bZ0yX8wV7uT6sR5qP4oN3mL2k1AbCdE"),
            ("support key", "mvs_9hG8fE7dC6bA5zY4xW3vU2tS1rQ0pO9nM8lK7j"),
            ("invitation", "mvi_Q2w3E4r5T6y7U8i9O0pA1s2D3f4G5h6J7k8L9z"),
            ("bot token", "mvb_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1"),
            ("key lookup id", "mvk_3fA9xQ2b"),
            (
                "session token",
                "q3Zk-9vJ_aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w",
            ),
            ("recovery code", "7k2m-9xqa-b4c8-vz3n"),
            (
                "zero-access recovery key",
                "0a1b2c3d-4e5f6a7b-8c9d0e1f-2a3b4c5d-6e7f8a9b-0c1d2e3f-4a5b6c7d-8e9f0a1b",
            ),
            (
                "known-device cookie",
                "0123456789abcdef0123456789abcdef.\
                 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff.\
                 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
            ),
        ];
        for (what, token) in shapes {
            let text = format!("POST /api/v1/invitations/{token}/accept from {token}, done");
            let out = scrub_text(&text);
            assert!(!out.contains(token), "{what} survived: {out}");
            assert!(
                out.contains("/api/v1/invitations/") && out.contains("done"),
                "{out}"
            );
        }
    }

    #[test]
    fn ids_and_hashes_that_are_not_tokens_survive() {
        for text in [
            "request_id=550e8400-e29b-41d4-a716-446655440000",
            "mtg_0123456789abcdef0123456789abcdef",
            "route=/api/v1/invitations/{token}/accept",
            "leaf e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert_eq!(scrub_text(text), text);
        }
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
