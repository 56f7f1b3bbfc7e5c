//! What a parsed recipe must mean: every step and detector well-formed, selectors non-empty
//! and balanced, timeouts bounded, regexes compiling, URL patterns sane. Each problem names the
//! field (`join[2].selector`) and what to do; all problems are reported at once.

use std::fmt;

use crate::model::{
    Chat, ChatMessages, Detectors, Field, FillValue, Matcher, Participants, RecipeFile, Step,
    TrackMapping, UrlPatterns,
};

/// The shortest timeout a step may have.
pub const MIN_TIMEOUT_MS: u32 = 100;
/// The longest timeout a step may have (the waiting room is the bot's setting, not a step's).
pub const MAX_TIMEOUT_MS: u32 = 600_000;
const MAX_SELECTOR_LEN: usize = 1_000;

/// One thing wrong with a recipe: where (a field path) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The field, as a path into the file: `join[2].selector`, `detect.denied`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Every problem with `recipe` (empty when it is valid).
pub fn problems(recipe: &RecipeFile) -> Vec<Problem> {
    let mut p = Problems::default();
    name(&mut p, &recipe.name);
    if recipe.version == 0 {
        p.add("version", "must be 1 or more");
    }
    urls(&mut p, &recipe.urls, recipe.test_platform);
    steps(&mut p, "join", &recipe.join, FillValue::BotName);
    match recipe.join.first() {
        None => p.add("join", "must have at least one step"),
        Some(Step::Navigate { .. }) => {}
        Some(_) => p.add("join[0]", "the first join step must be `navigate`"),
    }
    for (i, step) in recipe.join.iter().enumerate().skip(1) {
        if matches!(step, Step::Navigate { .. }) {
            p.add(
                format!("join[{i}]"),
                "`navigate` may only be the first step",
            );
        }
    }
    detectors(&mut p, &recipe.detect);
    chat(&mut p, &recipe.chat);
    participants(&mut p, &recipe.participants);
    if let Some(active) = &recipe.active_speaker {
        selector(&mut p, "active_speaker.item", &active.item);
        field(&mut p, "active_speaker.id", &active.id);
    }
    match recipe.tracks {
        TrackMapping::StreamIdAttribute if recipe.participants.stream_id.is_none() => p.add(
            "tracks.kind",
            "`stream_id_attribute` needs `participants.stream_id`",
        ),
        TrackMapping::ActiveSpeaker if recipe.active_speaker.is_none() => p.add(
            "tracks.kind",
            "`active_speaker` needs an `[active_speaker]` section",
        ),
        _ => {}
    }
    steps(&mut p, "leave", &recipe.leave, FillValue::BotName);
    if recipe
        .leave
        .iter()
        .any(|s| matches!(s, Step::Navigate { .. }))
    {
        p.add("leave", "`navigate` is not a leave step");
    }
    p.0
}

fn name(p: &mut Problems, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        p.add(
            "name",
            format!(
                "{name:?} is not a platform id: use 1–63 lowercase letters, digits and inner `-`"
            ),
        );
    }
}

fn urls(p: &mut Problems, urls: &UrlPatterns, test_platform: bool) {
    if test_platform && !urls.hosts.is_empty() {
        p.add(
            "urls.hosts",
            "a test platform names no hosts: its origins come from the operator's configuration",
        );
    }
    if !test_platform && urls.hosts.is_empty() {
        p.add("urls.hosts", "must list at least one host");
    }
    for (i, host) in urls.hosts.iter().enumerate() {
        if let Err(why) = host_pattern(host) {
            p.add(format!("urls.hosts[{i}]"), format!("{host:?}: {why}"));
        }
    }
    if urls.paths.is_empty() {
        p.add(
            "urls.paths",
            "must list at least one path pattern (`^/.*$` for any path)",
        );
    }
    for (i, path) in urls.paths.iter().enumerate() {
        if !path.starts_with("^/") && !path.starts_with('/') {
            p.add(
                format!("urls.paths[{i}]"),
                format!("{path:?} must start with `/` (or `^/`): it matches the URL's path"),
            );
        }
        if let Err(e) = regex::Regex::new(path) {
            p.add(
                format!("urls.paths[{i}]"),
                format!("not a regular expression: {e}"),
            );
        }
    }
}

/// Why `host` is not a sane host pattern.
fn host_pattern(host: &str) -> Result<(), &'static str> {
    let bare = host.strip_prefix("*.").unwrap_or(host);
    if bare.contains('*') {
        return Err("only one leading `*.` wildcard label is allowed");
    }
    let labels: Vec<&str> = bare.split('.').collect();
    if labels.len() < 2 {
        return Err("must be a full domain name (at least two labels, e.g. `zoom.us`)");
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return Err("labels must be lowercase letters, digits and inner `-` (punycode for IDNs)");
    }
    if labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must be a domain name, not an IP address");
    }
    if crate::url::is_internal_name(bare) {
        return Err("names a local or internal host");
    }
    Ok(())
}

fn steps(p: &mut Problems, at: &str, steps: &[Step], fill: FillValue) {
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{at}[{i}]");
        match step {
            Step::Navigate { timeout_ms } => timeout(p, &at, *timeout_ms),
            Step::WaitFor {
                selector: sel,
                text: t,
                timeout_ms,
            } => {
                matcher(
                    p,
                    &at,
                    &Matcher {
                        selector: sel.clone(),
                        text: t.clone(),
                        pattern: None,
                    },
                );
                timeout(p, &at, *timeout_ms);
            }
            Step::Fill {
                selector: sel,
                value,
                timeout_ms,
            } => {
                selector(p, &format!("{at}.selector"), sel);
                if *value != fill {
                    let want = match fill {
                        FillValue::BotName => "bot_name",
                        FillValue::ChatMessage => "chat_message",
                    };
                    p.add(format!("{at}.value"), format!("must be `{want}` here"));
                }
                timeout(p, &at, *timeout_ms);
            }
            Step::Click {
                selector: sel,
                text: t,
                timeout_ms,
            }
            | Step::ClickIfPresent {
                selector: sel,
                text: t,
                timeout_ms,
            } => {
                selector(p, &format!("{at}.selector"), sel);
                text(p, &format!("{at}.text"), t.as_deref());
                timeout(p, &at, *timeout_ms);
            }
            Step::ToggleOff {
                selector: sel,
                state_attribute,
                on_value,
                timeout_ms,
            } => {
                selector(p, &format!("{at}.selector"), sel);
                attribute(p, &format!("{at}.state_attribute"), state_attribute);
                if on_value.is_empty() {
                    p.add(format!("{at}.on_value"), "must not be empty");
                }
                timeout(p, &at, *timeout_ms);
            }
            Step::Press {
                selector: sel,
                timeout_ms,
                ..
            } => {
                if let Some(sel) = sel {
                    selector(p, &format!("{at}.selector"), sel);
                }
                timeout(p, &at, *timeout_ms);
            }
        }
    }
}

fn timeout(p: &mut Problems, at: &str, ms: u32) {
    if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) {
        p.add(
            format!("{at}.timeout_ms"),
            format!("{ms} is out of range: use {MIN_TIMEOUT_MS}–{MAX_TIMEOUT_MS} ms"),
        );
    }
}

fn detectors(p: &mut Problems, d: &Detectors) {
    for (name, list, required) in [
        ("waiting_room", &d.waiting_room, true),
        ("admitted", &d.admitted, true),
        ("denied", &d.denied, true),
        ("removed", &d.removed, true),
        ("meeting_ended", &d.meeting_ended, true),
        ("meeting_not_found", &d.meeting_not_found, false),
    ] {
        matchers(p, &format!("detect.{name}"), list, required);
    }
}

fn matchers(p: &mut Problems, at: &str, list: &[Matcher], required: bool) {
    if required && list.is_empty() {
        p.add(at, "must list at least one matcher");
    }
    for (i, m) in list.iter().enumerate() {
        matcher(p, &format!("{at}[{i}]"), m);
    }
}

fn matcher(p: &mut Problems, at: &str, m: &Matcher) {
    if m.selector.is_none() && m.text.is_none() && m.pattern.is_none() {
        p.add(at, "needs a `selector`, a `text` or a `pattern`");
    }
    if let Some(sel) = &m.selector {
        selector(p, &format!("{at}.selector"), sel);
    }
    text(p, &format!("{at}.text"), m.text.as_deref());
    if let Some(pattern) = &m.pattern {
        if pattern.is_empty() {
            p.add(format!("{at}.pattern"), "must not be empty");
        } else if let Err(e) = regex::Regex::new(pattern) {
            p.add(
                format!("{at}.pattern"),
                format!("not a regular expression: {e}"),
            );
        } else if pattern.contains("(?") {
            p.add(
                format!("{at}.pattern"),
                "inline flags and non-capturing groups `(?…)` differ between JavaScript and Rust: \
                 leave them out",
            );
        }
    }
}

fn text(p: &mut Problems, at: &str, text: Option<&str>) {
    if text.is_some_and(|t| t.trim().is_empty()) {
        p.add(at, "must not be empty");
    }
}

/// A CSS selector: non-empty, short, printable, brackets and quotes balanced. The browser has
/// the last word (see `js::selector_check`).
fn selector(p: &mut Problems, at: &str, sel: &str) {
    if sel.trim().is_empty() {
        p.add(at, "must not be empty");
        return;
    }
    if sel.len() > MAX_SELECTOR_LEN {
        p.add(at, format!("is longer than {MAX_SELECTOR_LEN} characters"));
    }
    if sel.chars().any(char::is_control) {
        p.add(at, "must not contain control characters");
    }
    if let Err(why) = balanced(sel) {
        p.add(at, format!("{sel:?} is not a CSS selector: {why}"));
    }
}

fn balanced(sel: &str) -> Result<(), String> {
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in sel.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '(') => stack.push(c),
            (None, ']') if stack.pop() != Some('[') => return Err("unbalanced `]`".into()),
            (None, ')') if stack.pop() != Some('(') => return Err("unbalanced `)`".into()),
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q}"));
    }
    if let Some(open) = stack.pop() {
        return Err(format!("unclosed `{open}`"));
    }
    Ok(())
}

fn attribute(p: &mut Problems, at: &str, name: &str) {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
    if !ok {
        p.add(at, format!("{name:?} is not an attribute name"));
    }
}

fn field(p: &mut Problems, at: &str, f: &Field) {
    if let Some(sel) = &f.closest {
        selector(p, &format!("{at}.closest"), sel);
    }
    if let Some(sel) = &f.selector {
        selector(p, &format!("{at}.selector"), sel);
    }
    if let Some(attr) = &f.attribute {
        attribute(p, &format!("{at}.attribute"), attr);
    }
}

fn chat(p: &mut Problems, chat: &Chat) {
    matchers(p, "chat.panel", &chat.panel, true);
    panel_steps(p, "chat.open", &chat.open);
    messages(p, &chat.messages);
    steps(p, "chat.send", &chat.send, FillValue::ChatMessage);
    let fills = chat
        .send
        .iter()
        .position(|s| matches!(s, Step::Fill { .. }));
    let sends = chat
        .send
        .iter()
        .rposition(|s| matches!(s, Step::Click { .. } | Step::Press { .. }));
    match (fills, sends) {
        (Some(f), Some(s)) if f < s => {}
        _ => p.add(
            "chat.send",
            "must fill the message (`fill`, value `chat_message`) and then send it (`click` or \
             `press`)",
        ),
    }
    if chat.send.iter().any(|s| matches!(s, Step::Navigate { .. })) {
        p.add("chat.send", "`navigate` is not a chat step");
    }
}

/// Steps that open a panel: clicks, waits and keys, never a navigation or typing.
fn panel_steps(p: &mut Problems, at: &str, list: &[Step]) {
    steps(p, at, list, FillValue::BotName);
    if list
        .iter()
        .any(|s| matches!(s, Step::Navigate { .. } | Step::Fill { .. }))
    {
        p.add(at, "opens the panel with clicks, waits and keys only");
    }
}

fn messages(p: &mut Problems, m: &ChatMessages) {
    selector(p, "chat.messages.item", &m.item);
    field(p, "chat.messages.sender", &m.sender);
    if let Some(f) = &m.sender_id {
        field(p, "chat.messages.sender_id", f);
    }
    field(p, "chat.messages.text", &m.text);
    for (i, f) in m.key.iter().enumerate() {
        field(p, &format!("chat.messages.key[{i}]"), f);
    }
}

fn participants(p: &mut Problems, list: &Participants) {
    panel_steps(p, "participants.open", &list.open);
    selector(p, "participants.item", &list.item);
    field(p, "participants.id", &list.id);
    field(p, "participants.name", &list.name);
    if let Some(f) = &list.stream_id {
        field(p, "participants.stream_id", f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_must_balance_brackets_and_quotes() {
        assert!(balanced("li[data-id='a]b']").is_ok());
        assert!(balanced(r#"a[title="x\"y"]"#).is_ok());
        assert!(balanced(":is(a, b)").is_ok());
        assert!(balanced("li[data-id").is_err());
        assert!(balanced("a[x='y]").is_err());
        assert!(balanced("a)").is_err());
    }

    #[test]
    fn host_patterns_must_be_full_lowercase_domain_names() {
        assert!(host_pattern("meet.google.com").is_ok());
        assert!(host_pattern("*.zoom.us").is_ok());
        for bad in [
            "*.com",
            "com",
            "*.*.zoom.us",
            "zoom.*.us",
            "Meet.google.com",
            "127.0.0.1",
            "meet.internal",
            "localhost",
            "a..b",
            "-a.com",
        ] {
            assert!(host_pattern(bad).is_err(), "{bad} passed");
        }
    }
}
