// prelude (every expression starts with it)
const norm = (s) => String(s == null ? "" : s).replace(/\s+/g, " ").trim();
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
};

// detect waiting_room
(() => {
"use strict";
/* prelude */
return [{"selector":"#lobby","text":"Waiting for the host to let you in"}].some((m) => find(m, false) !== null);
})()

// detect admitted
(() => {
"use strict";
/* prelude */
return [{"selector":"body[data-state='joined']"}].some((m) => find(m, false) !== null);
})()

// detect denied
(() => {
"use strict";
/* prelude */
return [{"selector":"#notice[data-reason='denied']"}].some((m) => find(m, false) !== null);
})()

// detect removed
(() => {
"use strict";
/* prelude */
return [{"selector":"#notice[data-reason='removed']"}].some((m) => find(m, false) !== null);
})()

// detect meeting_ended
(() => {
"use strict";
/* prelude */
return [{"selector":"#notice[data-reason='ended']"}].some((m) => find(m, false) !== null);
})()

// detect meeting_not_found
(() => {
"use strict";
/* prelude */
return [].some((m) => find(m, false) !== null);
})()

// detect chat_panel
(() => {
"use strict";
/* prelude */
return [{"selector":"#chat-input"}].some((m) => find(m, false) !== null);
})()

// chat messages
(() => {
"use strict";
/* prelude */
const spec = {"item":"#chat-messages .msg[data-sender-id][data-ts]","sender":{"selector":".sender"},"sender_id":{"attribute":"data-sender-id"},"text":{"selector":".text"},"key":[{"attribute":"data-sender-id"},{"attribute":"data-ts"}]};
const out = [];
const seen = new Map();
let lastSender = null;
let lastSenderId = null;
for (const item of document.querySelectorAll(spec.item)) {
  const text = read(spec.text, item);
  if (text == null || text === "") continue;
  let sender = read(spec.sender, item);
  let sender_id = spec.sender_id != null ? read(spec.sender_id, item) : null;
  if (sender == null || sender === "") {
    sender = lastSender;
    if (sender_id == null || sender_id === "") sender_id = lastSenderId;
  }
  lastSender = sender;
  lastSenderId = sender_id;
  let id;
  if (spec.key != null && spec.key.length > 0) {
    id = spec.key.map((f) => { const v = read(f, item); return v == null ? "" : v; }).join("|");
  } else {
    const base = JSON.stringify([sender, text]);
    const n = (seen.get(base) || 0) + 1;
    seen.set(base, n);
    id = base + "#" + n;
  }
  out.push({ id, sender, sender_id, text });
}
return out;
})()

// participants
(() => {
"use strict";
/* prelude */
const spec = {"id":{"attribute":"data-participant-id"},"item":"#participants li[data-participant-id]","name":{"selector":".name"},"stream_id":{"attribute":"data-stream-id"}};
const out = [];
const seen = new Set();
for (const item of document.querySelectorAll(spec.item)) {
  const id = read(spec.id, item);
  if (id == null || id === "" || seen.has(id)) continue;
  seen.add(id);
  const stream_id = spec.stream_id != null ? read(spec.stream_id, item) : null;
  out.push({ id, name: read(spec.name, item), stream_id });
}
return out;
})()

// step 0 (join): navigate=true key=None timeout=30s optional=false


// step 1 (join): navigate=false key=None timeout=15s optional=false
(() => {
"use strict";
/* prelude */
return find({"selector":"input#name"}, false) !== null;
})()

// step 2 (join): navigate=false key=None timeout=5s optional=false
(() => {
"use strict";
/* prelude */
const el = find({"selector":"input#name"}, true);
if (!el) return false;
const value = "Recorder";
el.focus();
if (el.isContentEditable) {
  if (norm(el.innerText) !== norm(value)) {
    document.execCommand("selectAll", false);
    document.execCommand("insertText", false, value);
  }
  return norm(el.innerText) === norm(value);
}
const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
const setter = Object.getOwnPropertyDescriptor(proto, "value").set;
if (el.value !== value) {
  setter.call(el, value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}
return el.value === value;
})()

// step 3 (join): navigate=false key=None timeout=5s optional=false
(() => {
"use strict";
/* prelude */
const el = find({"selector":"button#mic-toggle"}, true);
if (!el) return false;
const state = () => el.getAttribute("aria-pressed");
if (state() === null) return false;
if (state() !== "true") return true;
const now = Date.now();
if (!(el.__meetvaultToggledAt > now - 1500)) { el.__meetvaultToggledAt = now; el.click(); }
return state() !== null && state() !== "true";
})()

// step 4 (join): navigate=false key=None timeout=5s optional=false
(() => {
"use strict";
/* prelude */
const el = find({"selector":"button#cam-toggle"}, true);
if (!el) return false;
const state = () => el.getAttribute("aria-pressed");
if (state() === null) return false;
if (state() !== "true") return true;
const now = Date.now();
if (!(el.__meetvaultToggledAt > now - 1500)) { el.__meetvaultToggledAt = now; el.click(); }
return state() !== null && state() !== "true";
})()

// step 5 (join): navigate=false key=None timeout=5s optional=false
(() => {
"use strict";
/* prelude */
const el = find({"selector":"button#join"}, true);
if (!el) return false;
el.scrollIntoView({ block: "center", inline: "center" });
el.click();
return true;
})()

// step 6 (chat send): navigate=false key=None timeout=5s optional=false
(() => {
"use strict";
/* prelude */
const el = find({"selector":"#chat-input"}, true);
if (!el) return false;
const value = "hello";
el.focus();
if (el.isContentEditable) {
  if (norm(el.innerText) !== norm(value)) {
    document.execCommand("selectAll", false);
    document.execCommand("insertText", false, value);
  }
  return norm(el.innerText) === norm(value);
}
const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
const setter = Object.getOwnPropertyDescriptor(proto, "value").set;
if (el.value !== value) {
  setter.call(el, value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}
return el.value === value;
})()

// step 7 (chat send): navigate=false key=None timeout=5s optional=false
(() => {
"use strict";
/* prelude */
const el = find({"selector":"button#chat-send"}, true);
if (!el) return false;
el.scrollIntoView({ block: "center", inline: "center" });
el.click();
return true;
})()
