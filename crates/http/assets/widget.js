// meetvault's voice-intake widget, v1. Embedded with
//   <script src="https://meetvault.example/widget/v1.js" data-widget="wgt_…" async></script>
// (optionally `data-visitor-token="…"`: an HS256 JWT your server signed with the widget's
// secret, and `data-target="#id"`: the element to render into; default: after the script).
//
// It renders into a closed shadow root with its own stylesheet (constructed, so a strict
// `style-src` does not block it), reads nothing of the page (no cookie, no storage, no other
// element), sends nothing with credentials, defines one global (`Meetvault`), and asks for the
// microphone only when the visitor presses the record button, after the consent text is shown.
// Audio is recorded in the browser (Opus in WebM, or Ogg) and uploaded in one-second chunks as
// it is recorded, so a dropped connection loses little. For a widget with `live_transcript`,
// the visitor sees what the server heard while talking (polled once a second).
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !script.dataset.widget) return;
  // The server's address, with the path it is served under (`…/meetvault/widget/v1.js`).
  const src = new URL(script.src);
  const api = src.origin + src.pathname.replace(/\/widget\/v1\.js$/, '');
  // What it calls, taken now: a page script that runs later and replaces `fetch` or the
  // recorder cannot see the session or the audio through them.
  const fetchNow = window.fetch.bind(window);
  const Recorder = window.MediaRecorder;
  const devices = navigator.mediaDevices;
  const getUserMedia = devices && devices.getUserMedia ? devices.getUserMedia.bind(devices) : null;
  const widgetId = script.dataset.widget;
  const visitorToken = script.dataset.visitorToken || null;
  const targetSelector = script.dataset.target || null;

  const CSS = `
:host { all: initial !important; display: block !important; visibility: visible !important;
  opacity: 1 !important; position: static !important; transform: none !important;
  contain: content; max-width: 448px !important; margin: 16px 0 !important; }
.mv { box-sizing: border-box; font: 400 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
  sans-serif; color: #1c1f23; background: #fff; border: 1px solid #c9ced6; border-radius: 10px;
  padding: 16px; text-align: left; }
.mv * { box-sizing: border-box; }
h2 { font-family: inherit; font-size: 17px; font-weight: 600; line-height: 1.3; margin: 0 0 8px;
  color: #1c1f23; }
p { margin: 0 0 10px; }
.consent { font-size: 13px; color: #444b55; }
.consent a { color: #0b57d0; }
button { font-family: inherit; font-size: 15px; font-weight: 600; line-height: 1; border-radius: 8px; border: 1px solid #0b57d0; padding: 10px 16px;
  cursor: pointer; background: #0b57d0; color: #fff; }
button.secondary { background: #fff; color: #0b57d0; }
button:focus-visible { outline: 3px solid #f5a524; outline-offset: 2px; }
button[hidden], [hidden] { display: none !important; }
.status { margin: 10px 0 0; min-height: 1.45em; }
.live { display: inline-flex; align-items: center; gap: 8px; font-weight: 600; color: #b3261e; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: #b3261e; }
.error { color: #b3261e; }
.transcript { margin: 10px 0 0; padding: 8px 10px; border-radius: 6px; background: #f3f5f8;
  color: #1c1f23; font-size: 14px; max-height: 160px; overflow-y: auto; white-space: pre-wrap; }
`;

  /** An element with attributes and children (text is always a text node, never HTML). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  const host = document.createElement('div');
  host.setAttribute('data-meetvault-widget', widgetId);
  const target = targetSelector ? document.querySelector(targetSelector) : null;
  if (target) {
    target.append(host);
  } else {
    script.after(host);
  }
  const root = host.attachShadow({ mode: 'closed' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  root.adoptedStyleSheets = [sheet];

  const title = el('h2', { id: 'title' }, 'Voice message');
  const prompt = el('p', { class: 'prompt', hidden: true });
  const consent = el('p', { class: 'consent' });
  const record = el('button', { type: 'button', class: 'record' }, 'Record a message');
  const stop = el('button', { type: 'button', class: 'stop secondary', hidden: true }, 'Stop and send');
  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const transcript = el('p', { class: 'transcript', 'aria-live': 'polite', 'aria-label': 'What we heard so far', hidden: true });
  const box = el('section', { class: 'mv', 'aria-labelledby': 'title' }, title, prompt, consent, record, stop, status, transcript);
  root.append(box);

  function say(text, kind) {
    status.replaceChildren();
    status.className = 'status' + (kind ? ' ' + kind : '');
    status.dataset.state = kind || 'info';
    if (kind === 'live') {
      status.append(el('span', { class: 'live' }, el('span', { class: 'dot', 'aria-hidden': 'true' }), text));
    } else {
      status.append(text);
    }
  }

  async function call(method, path, body, token) {
    const headers = {};
    if (token) headers.authorization = 'Bearer ' + token;
    if (body !== undefined && !(body instanceof Blob)) headers['content-type'] = 'application/json';
    const response = await fetchNow(api + path, {
      method,
      headers,
      body: body === undefined ? undefined : body instanceof Blob ? body : JSON.stringify(body),
      credentials: 'omit',
      mode: 'cors',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
    let json = null;
    try {
      json = await response.json();
    } catch (_) {
      json = null;
    }
    return { status: response.status, json, retryAfter: response.headers.get('retry-after') };
  }

  function message(r) {
    return (r.json && r.json.error && r.json.error.message) || 'HTTP ' + r.status;
  }

  let config = null;
  const base = '/widget/v1/widgets/' + encodeURIComponent(widgetId);

  async function load() {
    const r = await call('GET', base + '/config');
    if (r.status !== 200) {
      say('This voice widget is not available here (' + message(r) + ').', 'error');
      record.hidden = true;
      return;
    }
    config = r.json;
    title.textContent = config.greeting;
    if (config.prompt) {
      prompt.textContent = config.prompt;
      prompt.hidden = false;
    }
    consent.replaceChildren(config.consent_text);
    if (config.privacy_url) {
      consent.append(' ', el('a', { href: config.privacy_url, target: '_blank', rel: 'noopener noreferrer' }, 'Privacy notice'));
    }
    say('');
  }

  function clock(s) {
    return Math.floor(s / 60) + ':' + String(Math.floor(s % 60)).padStart(2, '0');
  }

  let session = null;
  let recorder = null;
  let stream = null;
  let seq = 0;
  let queue = Promise.resolve(true);
  let failed = null;
  let started = 0;
  let ticker = null;
  let poller = null;

  /** Shows the live transcript of the session `token` names until the server says it is done
   * (or `patience` polls went by after the recording was sent). */
  function follow(token) {
    let next = 0;
    let busy = false;
    let left = Infinity;
    transcript.replaceChildren();
    transcript.hidden = false;
    const mine = { sent: () => { left = 60; } };
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        const r = await call('GET', base + '/live?after=' + next, undefined, token);
        // A poll of a recording the visitor has since left behind changes nothing.
        if (poller !== mine) return;
        if (r.status === 429 || r.status >= 500) return;
        if (r.status !== 200 || !r.json.live) return stopFollowing(mine);
        for (const line of r.json.lines) {
          transcript.append((transcript.textContent ? ' ' : '') + line.text);
        }
        transcript.scrollTop = transcript.scrollHeight;
        next = r.json.next;
        if (r.json.done) stopFollowing(mine);
      } catch (_) {
        // A dropped poll: the next one asks again from the same line.
      } finally {
        busy = false;
        if (poller === mine && --left <= 0) stopFollowing(mine);
      }
    };
    mine.timer = setInterval(poll, 1000);
    poller = mine;
  }

  /** Stops following `which` (any recording's, when not given). */
  function stopFollowing(which) {
    if (!poller || (which && poller !== which)) return;
    clearInterval(poller.timer);
    poller = null;
    if (!transcript.textContent) transcript.hidden = true;
  }

  /** Sends one chunk, retrying a dropped connection or a server error three times. */
  async function send(blob, position) {
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt) await new Promise((ok) => setTimeout(ok, 500 * 2 ** attempt));
      let r;
      try {
        r = await call('PUT', base + '/chunks/' + position, blob, session);
      } catch (_) {
        continue;
      }
      if (r.status === 200) return true;
      // A retry of a chunk whose answer was lost: the server has it.
      if (r.status === 409 && position < seq && attempt > 0) return true;
      if (r.status < 500) {
        failed = message(r);
        return false;
      }
    }
    failed = 'the connection was lost';
    return false;
  }

  function mimeType() {
    for (const t of ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/webm']) {
      if (Recorder && Recorder.isTypeSupported(t)) return t;
    }
    return '';
  }

  async function begin() {
    if (!config) return;
    record.disabled = true;
    say('Waiting for your permission to use the microphone…');
    try {
      // Only now, after the visitor pressed the button: the browser's own prompt.
      if (!getUserMedia || !Recorder) throw Object.assign(new Error('unsupported'), { name: 'NotSupportedError' });
      stream = await getUserMedia({ audio: true });
    } catch (e) {
      record.disabled = false;
      record.textContent = 'Try again';
      say(
        e && e.name === 'NotAllowedError'
          ? 'Microphone access was refused. Allow it for this site in your browser to record a message.'
          : 'No microphone could be used (' + (e && e.name) + ').',
        'error',
      );
      return;
    }
    const opened = await call('POST', base + '/sessions', visitorToken ? { visitor_token: visitorToken } : {});
    if (opened.status !== 201) {
      stream.getTracks().forEach((t) => t.stop());
      record.disabled = false;
      say(
        opened.status === 429
          ? 'Too many messages from your network just now; try again later.'
          : 'The message could not be started (' + message(opened) + ').',
        'error',
      );
      return;
    }
    session = opened.json.session_token;
    stopFollowing();
    transcript.hidden = true;
    if (opened.json.live) follow(session);
    seq = 0;
    failed = null;
    queue = Promise.resolve(true);
    recorder = new Recorder(stream, { mimeType: mimeType(), audioBitsPerSecond: 32000 });
    recorder.addEventListener('dataavailable', (event) => {
      if (!event.data || event.data.size === 0) return;
      const position = seq++;
      queue = queue.then((ok) => ok && send(event.data, position));
    });
    recorder.addEventListener('stop', finish);
    recorder.start(1000);
    started = Date.now();
    record.hidden = true;
    stop.hidden = false;
    stop.focus();
    const tick = () => {
      const s = (Date.now() - started) / 1000;
      say('Recording ' + clock(s) + ' of ' + clock(config.max_seconds), 'live');
      if (s >= config.max_seconds) end();
    };
    tick();
    ticker = setInterval(tick, 500);
  }

  function end() {
    clearInterval(ticker);
    if (recorder && recorder.state !== 'inactive') recorder.stop();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stop.hidden = true;
  }

  async function finish() {
    // The last words are still being transcribed: a minute more of polls at most.
    if (poller) poller.sent();
    say('Sending…');
    const ok = await queue;
    if (!ok || seq === 0) {
      say('The message could not be sent: ' + (failed || 'nothing was recorded') + '.', 'error');
      record.hidden = false;
      record.disabled = false;
      return;
    }
    const r = await call('POST', base + '/submit', undefined, session);
    session = null;
    if (r.status === 202) {
      say('Thank you — your message was received.', 'done');
    } else {
      say('The message could not be sent (' + message(r) + ').', 'error');
      record.hidden = false;
      record.disabled = false;
    }
  }

  record.addEventListener('click', begin);
  stop.addEventListener('click', end);
  load().catch(() => say('This voice widget could not be loaded.', 'error'));

  if (!window.Meetvault) {
    Object.defineProperty(window, 'Meetvault', { value: Object.freeze({ widget: '1' }), enumerable: false });
  }
})();
