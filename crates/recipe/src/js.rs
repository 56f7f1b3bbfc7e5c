//! A recipe's detectors, scrapers and steps as small JavaScript expressions for the bot to
//! `Runtime.evaluate` (with `returnByValue`) in the meeting page. Pure string generation: no
//! browser here. Every value that comes from a recipe or from the bot's input (selectors,
//! texts, patterns, the bot's name, a chat message) enters the script only as a JSON literal,
//! so a hostile string is data, never code. Each expression is self-contained: the [`PRELUDE`]
//! helpers, then one `return`.

use std::time::Duration;

use serde::Serialize;

use crate::model::{Field, FillValue, Key, Matcher, RecipeFile, Step};
use crate::{DetectorKind, Recipe};

/// Helpers every expression starts with: how an element is found (visible, optionally enabled,
/// matching selector, text and pattern) and how a field is read.
pub const PRELUDE: &str = r#"const norm = (s) => String(s == null ? "" : s).replace(/\s+/g, " ").trim();
const visible = (el) => {
  if (!el || !el.isConnected) return false;
  if (el === document.body || el === document.documentElement) return true;
  const style = getComputedStyle(el);
  if (style.display === "none" || style.visibility === "hidden") return false;
  return el.getClientRects().length > 0;
};
const textOf = (el) => norm(typeof el.innerText === "string" ? el.innerText : el.textContent);
const matches = (m, el) => {
  if (!visible(el)) return false;
  if (m.text == null && m.pattern == null) return true;
  const t = textOf(el);
  if (m.text != null && !t.toLowerCase().includes(norm(m.text).toLowerCase())) return false;
  if (m.pattern != null && !new RegExp(m.pattern, "u").test(t)) return false;
  return true;
};
const find = (m, enabled) => {
  const els = m.selector != null ? document.querySelectorAll(m.selector) : [document.body];
  for (const el of els) {
    if (!el || !matches(m, el)) continue;
    if (enabled && (el.disabled === true || el.getAttribute("aria-disabled") === "true")) continue;
    return el;
  }
  return null;
};
const read = (f, item) => {
  const start = f.closest != null ? item.closest(f.closest) : item;
  if (!start) return null;
  const el = f.selector != null ? start.querySelector(f.selector) : start;
  if (!el) return null;
  if (f.attribute != null) return el.getAttribute(f.attribute);
  return textOf(el);
};"#;

/// `value` as a JavaScript literal: JSON, with the two line separators JSON allows in strings
/// escaped too.
pub fn literal<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn wrap(body: &str) -> String {
    format!("(() => {{\n\"use strict\";\n{PRELUDE}\n{body}\n}})()")
}

/// An expression that is `true` when any of `matchers` finds a visible element.
pub fn detector(matchers: &[Matcher]) -> String {
    wrap(&format!(
        "return {}.some((m) => find(m, false) !== null);",
        literal(matchers)
    ))
}

/// The inputs a step may type.
#[derive(Debug, Clone, Copy)]
pub struct StepInput<'a> {
    pub bot_name: &'a str,
    pub chat_message: &'a str,
}

/// A step, ready to run. The runtime: navigates when `navigate`; otherwise evaluates
/// `expression` every few hundred milliseconds until it returns `true`, then sends `key` (if
/// any) with `Input.dispatchKeyEvent`. Past `timeout` the step failed — unless `optional`,
/// when it is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledStep {
    pub navigate: bool,
    pub expression: Option<String>,
    pub key: Option<Key>,
    pub timeout: Duration,
    pub optional: bool,
}

impl Key {
    /// The `Input.dispatchKeyEvent` parameters of pressing then releasing this key.
    pub fn dispatch_events(self) -> [serde_json::Value; 2] {
        let (key, code, text) = match self {
            Key::Enter => ("Enter", 13, "\r"),
            Key::Escape => ("Escape", 27, ""),
            Key::Tab => ("Tab", 9, "\t"),
        };
        let mut down = serde_json::json!({
            "type": "keyDown", "key": key, "code": key,
            "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code,
        });
        if !text.is_empty() {
            down["text"] = text.into();
        }
        let up = serde_json::json!({
            "type": "keyUp", "key": key, "code": key,
            "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code,
        });
        [down, up]
    }
}

fn target(selector: &str, text: Option<&String>) -> Matcher {
    Matcher {
        selector: Some(selector.to_owned()),
        text: text.cloned(),
        pattern: None,
    }
}

/// Compiles one step, with `input` typed by `fill` steps.
pub fn step(step: &Step, input: &StepInput<'_>) -> CompiledStep {
    let (expression, key, timeout_ms, optional) = match step {
        Step::Navigate { timeout_ms } => {
            return CompiledStep {
                navigate: true,
                expression: None,
                key: None,
                timeout: Duration::from_millis(u64::from(*timeout_ms)),
                optional: false,
            };
        }
        Step::WaitFor {
            selector,
            text,
            timeout_ms,
        } => {
            let m = Matcher {
                selector: selector.clone(),
                text: text.clone(),
                pattern: None,
            };
            let body = format!("return find({}, false) !== null;", literal(&m));
            (body, None, timeout_ms, false)
        }
        Step::Fill {
            selector,
            value,
            timeout_ms,
        } => {
            let value = match value {
                FillValue::BotName => input.bot_name,
                FillValue::ChatMessage => input.chat_message,
            };
            (
                fill(&target(selector, None), value),
                None,
                timeout_ms,
                false,
            )
        }
        Step::Click {
            selector,
            text,
            timeout_ms,
        }
        | Step::ClickIfPresent {
            selector,
            text,
            timeout_ms,
        } => (
            click(&target(selector, text.as_ref())),
            None,
            timeout_ms,
            matches!(step, Step::ClickIfPresent { .. }),
        ),
        Step::ToggleOff {
            selector,
            state_attribute,
            on_value,
            timeout_ms,
        } => {
            let body = format!(
                "const el = find({m}, true);\n\
                 if (!el) return false;\n\
                 const state = () => el.getAttribute({attr});\n\
                 if (state() === null) return false;\n\
                 if (state() !== {on}) return true;\n\
                 const now = Date.now();\n\
                 if (!(el.__meetvaultToggledAt > now - 1500)) {{ el.__meetvaultToggledAt = now; el.click(); }}\n\
                 return state() !== null && state() !== {on};",
                m = literal(&target(selector, None)),
                attr = literal(state_attribute),
                on = literal(on_value),
            );
            (body, None, timeout_ms, false)
        }
        Step::Press {
            selector,
            key,
            timeout_ms,
        } => {
            let body = match selector {
                Some(selector) => format!(
                    "const el = find({}, true);\nif (!el) return false;\nel.focus();\nreturn document.activeElement === el;",
                    literal(&target(selector, None))
                ),
                None => "return document.hasFocus() || document.activeElement !== null;".to_owned(),
            };
            (body, Some(*key), timeout_ms, false)
        }
    };
    CompiledStep {
        navigate: false,
        expression: Some(wrap(&expression)),
        key,
        timeout: Duration::from_millis(u64::from(*timeout_ms)),
        optional,
    }
}

fn click(m: &Matcher) -> String {
    format!(
        "const el = find({}, true);\n\
         if (!el) return false;\n\
         el.scrollIntoView({{ block: \"center\", inline: \"center\" }});\n\
         el.click();\n\
         return true;",
        literal(m)
    )
}

fn fill(m: &Matcher, value: &str) -> String {
    format!(
        "const el = find({m}, true);\n\
         if (!el) return false;\n\
         const value = {value};\n\
         el.focus();\n\
         if (el.isContentEditable) {{\n\
         \x20 if (norm(el.innerText) !== norm(value)) {{\n\
         \x20   document.execCommand(\"selectAll\", false);\n\
         \x20   document.execCommand(\"insertText\", false, value);\n\
         \x20 }}\n\
         \x20 return norm(el.innerText) === norm(value);\n\
         }}\n\
         const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;\n\
         const setter = Object.getOwnPropertyDescriptor(proto, \"value\").set;\n\
         if (el.value !== value) {{\n\
         \x20 setter.call(el, value);\n\
         \x20 el.dispatchEvent(new Event(\"input\", {{ bubbles: true }}));\n\
         \x20 el.dispatchEvent(new Event(\"change\", {{ bubbles: true }}));\n\
         }}\n\
         return el.value === value;",
        m = literal(m),
        value = literal(value),
    )
}

impl Recipe {
    /// The detector `kind` as an expression returning `true`/`false` (always `false` for an
    /// optional detector the recipe does not give).
    pub fn detector_js(&self, kind: DetectorKind) -> String {
        detector(self.detector(kind))
    }

    /// An expression returning the chat messages on the page, in order:
    /// `[{id, sender, sender_id, text}]` (`id` is the dedupe key).
    pub fn chat_messages_js(&self) -> String {
        wrap(&format!(
            r##"const spec = {};
const out = [];
const seen = new Map();
let lastSender = null;
let lastSenderId = null;
for (const item of document.querySelectorAll(spec.item)) {{
  const text = read(spec.text, item);
  if (text == null || text === "") continue;
  let sender = read(spec.sender, item);
  let sender_id = spec.sender_id != null ? read(spec.sender_id, item) : null;
  if (sender == null || sender === "") {{
    sender = lastSender;
    if (sender_id == null || sender_id === "") sender_id = lastSenderId;
  }}
  lastSender = sender;
  lastSenderId = sender_id;
  let id;
  if (spec.key != null && spec.key.length > 0) {{
    id = spec.key.map((f) => {{ const v = read(f, item); return v == null ? "" : v; }}).join("|");
  }} else {{
    const base = JSON.stringify([sender, text]);
    const n = (seen.get(base) || 0) + 1;
    seen.set(base, n);
    id = base + "#" + n;
  }}
  out.push({{ id, sender, sender_id, text }});
}}
return out;"##,
            literal(&self.file().chat.messages)
        ))
    }

    /// An expression returning the participants listed: `[{id, name, stream_id}]`
    /// (`stream_id` is `null` when the recipe does not read one).
    pub fn participants_js(&self) -> String {
        let p = &self.file().participants;
        wrap(&format!(
            r#"const spec = {};
const out = [];
const seen = new Set();
for (const item of document.querySelectorAll(spec.item)) {{
  const id = read(spec.id, item);
  if (id == null || id === "" || seen.has(id)) continue;
  seen.add(id);
  const stream_id = spec.stream_id != null ? read(spec.stream_id, item) : null;
  out.push({{ id, name: read(spec.name, item), stream_id }});
}}
return out;"#,
            literal(&serde_json::json!({
                "item": p.item, "id": p.id, "name": p.name, "stream_id": p.stream_id,
            }))
        ))
    }

    /// An expression returning the ids of the participants shown speaking now, when the
    /// recipe says how to see them.
    pub fn active_speakers_js(&self) -> Option<String> {
        let a = self.file().active_speaker.as_ref()?;
        Some(wrap(&format!(
            r#"const spec = {};
const out = [];
for (const item of document.querySelectorAll(spec.item)) {{
  const id = read(spec.id, item);
  if (id != null && id !== "" && !out.includes(id)) out.push(id);
}}
return out;"#,
            literal(&serde_json::json!({"item": a.item, "id": a.id}))
        )))
    }

    /// The join steps, compiled with the bot's name.
    pub fn join_steps(&self, bot_name: &str) -> Vec<CompiledStep> {
        let input = StepInput {
            bot_name,
            chat_message: "",
        };
        self.file().join.iter().map(|s| step(s, &input)).collect()
    }

    /// The steps that open the chat panel (run them when `ChatPanel` is false).
    pub fn chat_open_steps(&self) -> Vec<CompiledStep> {
        compile_all(&self.file().chat.open)
    }

    /// The steps that send `message` in the chat.
    pub fn chat_send_steps(&self, message: &str) -> Vec<CompiledStep> {
        let input = StepInput {
            bot_name: "",
            chat_message: message,
        };
        self.file()
            .chat
            .send
            .iter()
            .map(|s| step(s, &input))
            .collect()
    }

    /// The steps that open the participant panel (run them when the list is empty).
    pub fn participants_open_steps(&self) -> Vec<CompiledStep> {
        compile_all(&self.file().participants.open)
    }

    /// The steps that leave the meeting.
    pub fn leave_steps(&self) -> Vec<CompiledStep> {
        compile_all(&self.file().leave)
    }

    /// An expression returning what in this recipe the browser itself refuses: selectors it
    /// cannot parse and patterns it cannot compile, as `["selector …: why"]`. Empty when the
    /// recipe is sound in this browser; the bot runs it once after navigating.
    pub fn self_check_js(&self) -> String {
        let (selectors, patterns) = selectors_and_patterns(self.file());
        wrap(&format!(
            r#"const selectors = {};
const patterns = {};
const bad = [];
for (const s of selectors) {{
  try {{ document.createDocumentFragment().querySelector(s); }} catch (e) {{ bad.push("selector " + s + ": " + e.message); }}
}}
for (const p of patterns) {{
  try {{ new RegExp(p, "u"); }} catch (e) {{ bad.push("pattern " + p + ": " + e.message); }}
}}
return bad;"#,
            literal(&selectors),
            literal(&patterns)
        ))
    }
}

fn compile_all(steps: &[Step]) -> Vec<CompiledStep> {
    let input = StepInput {
        bot_name: "",
        chat_message: "",
    };
    steps.iter().map(|s| step(s, &input)).collect()
}

/// Every selector (field selectors included) and every text pattern in a recipe.
fn selectors_and_patterns(r: &RecipeFile) -> (Vec<String>, Vec<String>) {
    let mut selectors = Vec::new();
    let mut patterns = Vec::new();
    let mut matcher = |m: &Matcher, selectors: &mut Vec<String>| {
        selectors.extend(m.selector.clone());
        patterns.extend(m.pattern.clone());
    };
    let d = &r.detect;
    for list in [
        &d.waiting_room,
        &d.admitted,
        &d.denied,
        &d.removed,
        &d.meeting_ended,
        &d.meeting_not_found,
        &r.chat.panel,
    ] {
        for m in list {
            matcher(m, &mut selectors);
        }
    }
    for s in r
        .join
        .iter()
        .chain(&r.chat.open)
        .chain(&r.chat.send)
        .chain(&r.participants.open)
        .chain(&r.leave)
    {
        match s {
            Step::Navigate { .. } => {}
            Step::WaitFor { selector, .. } | Step::Press { selector, .. } => {
                selectors.extend(selector.clone());
            }
            Step::Fill { selector, .. }
            | Step::Click { selector, .. }
            | Step::ClickIfPresent { selector, .. }
            | Step::ToggleOff { selector, .. } => selectors.push(selector.clone()),
        }
    }
    let m = &r.chat.messages;
    selectors.push(m.item.clone());
    let p = &r.participants;
    selectors.push(p.item.clone());
    let mut fields: Vec<&Field> = vec![&m.sender, &m.text, &p.id, &p.name];
    fields.extend(m.sender_id.iter().chain(&m.key).chain(&p.stream_id));
    if let Some(a) = &r.active_speaker {
        selectors.push(a.item.clone());
        fields.push(&a.id);
    }
    for f in fields {
        selectors.extend(f.closest.iter().chain(&f.selector).cloned());
    }
    selectors.dedup();
    (selectors, patterns)
}
