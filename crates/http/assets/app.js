// meetvault's dashboard script: the only one the pages load (no framework, no build step).
// Forms call the JSON API (same origin: the session cookie and the Origin header go with
// them); uploads stream with progress; the transcript follows the audio; the meeting's event
// stream (SSE) updates progress live. Never builds markup from strings: text nodes only.
'use strict';
(function () {
  const all = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const make = (tag, cls, text) => {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  };
  const dig = (data, path) => path.split('.').reduce((o, k) => (o == null ? o : o[k]), data);
  // `{a.b}` in a URL template, from an API answer.
  const fill = (template, data) =>
    template.replace(/\{([\w.]+)\}/g, (_, p) => encodeURIComponent(String(dig(data, p) ?? '')));

  class ApiError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  async function call(method, url, body) {
    const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(url, init);
    } catch (_) {
      throw new ApiError('The server could not be reached. Check your connection and try again.');
    }
    const text = await r.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!r.ok) {
      const e = data && data.error;
      throw new ApiError((e && e.message) || 'The server answered ' + r.status + '.', e && e.code, r.status);
    }
    return data || {};
  }

  // A form's fields as a JSON body: empty fields are left out (sent as null with data-null),
  // checkboxes are booleans (or, with data-list, the list of the checked values), number
  // inputs are numbers, data-json values are JSON (true, false).
  function fields(form, used) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || used.has(el.name) || el.type === 'file') continue;
      if (el.type === 'checkbox') {
        if (el.hasAttribute('data-list')) {
          body[el.name] = body[el.name] || [];
          if (el.checked) body[el.name].push(el.value);
        } else {
          body[el.name] = el.checked;
        }
      } else if (el.value === '' && el.hasAttribute('data-null')) {
        body[el.name] = null;
      } else if (el.value !== '' && el.type === 'datetime-local') {
        // The browser's local time, as the API's RFC 3339.
        body[el.name] = new Date(el.value).toISOString();
      } else if (el.hasAttribute('data-lines')) {
        // One item a line (origins, say): a list, blank lines left out.
        body[el.name] = el.value.split('\n').map((l) => l.trim()).filter(Boolean);
      } else if (el.value !== '') {
        body[el.name] = el.type === 'number' ? Number(el.value)
          : el.hasAttribute('data-json') ? JSON.parse(el.value) : el.value;
      }
    }
    return body;
  }

  // A form whose body is the API's JSON as written in its textarea.
  function parsed(form) {
    try {
      return JSON.parse(form.elements.namedItem('body').value);
    } catch (e) {
      throw new ApiError('That is not valid JSON: ' + e.message);
    }
  }

  function upload(url, file, speaker, bar, nameParam) {
    return new Promise((resolve, reject) => {
      const q = new URLSearchParams({ [nameParam]: file.name });
      if (speaker) q.set('speaker', speaker);
      const x = new XMLHttpRequest();
      x.open('POST', url + '?' + q.toString());
      x.setRequestHeader('content-type', file.type || 'application/octet-stream');
      x.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          bar.max = e.total;
          bar.value = e.loaded;
        }
      };
      x.onload = () => {
        if (x.status >= 200 && x.status < 300) return resolve();
        let m = 'the server answered ' + x.status;
        try {
          m = JSON.parse(x.responseText).error.message;
        } catch (_) {
          /* not JSON: keep the status */
        }
        reject(new ApiError(file.name + ': ' + m));
      };
      x.onerror = () => reject(new ApiError(file.name + ': the connection broke off; try again.'));
      x.send(file);
    });
  }

  // Every chosen file, one after the other, each with its own progress bar. A file of a
  // `data-file="speaker"` input is that speaker's track, named by the file (without extension).
  async function uploads(form, url) {
    const box = form.querySelector('.uploads');
    for (const input of all('input[type=file][data-file]', form)) {
      for (const file of input.files) {
        const kind = input.dataset.file;
        const speaker = kind === 'speaker' ? file.name.replace(/\.[^.]*$/, '') : '';
        const row = make('div', 'upload');
        const bar = make('progress');
        bar.max = file.size || 1;
        bar.value = 0;
        const label = make('span', '', (speaker ? speaker + ': ' : '') + file.name);
        bar.setAttribute('aria-label', 'Uploading ' + file.name);
        row.append(label, bar);
        if (box) box.append(row);
        await upload(url, file, speaker, bar, kind === 'document' ? 'name' : 'filename');
        label.textContent += ' — uploaded';
      }
    }
  }

  // Shows what an answer returns once (a new key, an invitation link, recovery codes).
  function show(form, data) {
    for (const el of all('[data-shown]', form)) {
      let v = dig(data, el.dataset.shown);
      if (Array.isArray(v)) v = v.join('\n');
      const prefix = el.dataset.prefix || '';
      el.textContent = (prefix.startsWith('/') ? location.origin : '') + prefix + (v ?? '');
      const box = el.closest('.shown');
      if (box) box.hidden = false;
    }
  }

  async function submit(form) {
    const error = form.querySelector('.form-error');
    const done = form.querySelector('.form-done');
    if (error) error.hidden = true;
    if (done) done.textContent = '';
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const button = form.querySelector('[type=submit]');
    if (button) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      let result = {};
      if (form.dataset.api) {
        const used = new Set();
        const url = form.dataset.api.replace(/\{(\w+)\}/g, (_, n) => {
          used.add(n);
          const el = form.elements.namedItem(n);
          return encodeURIComponent(el ? el.value.trim() : '');
        });
        const method = (form.dataset.method || 'POST').toUpperCase();
        const body = form.dataset.body === 'json' ? parsed(form) : fields(form, used);
        const send = method !== 'DELETE' || Object.keys(body).length > 0;
        result = await call(method, url, send ? body : undefined);
      }
      if (form.dataset.upload) await uploads(form, fill(form.dataset.upload, result));
      show(form, result);
      if (done) done.textContent = form.dataset.done || 'Done.';
      const next = form.dataset.next;
      if (next === 'reload') location.reload();
      else if (next && next.startsWith('@')) {
        // A page elsewhere the answer names (a calendar provider's consent page).
        const away = String(dig(result, next.slice(1)) || '');
        if (/^https?:\/\//.test(away)) location.assign(away);
      }
      else if (next) location.assign(fill(next, result));
    } catch (e) {
      let message = e.message;
      if (e.code === 'mfa_required' && form.hasAttribute('data-mfa')) {
        const box = form.querySelector('.mfa');
        box.hidden = false;
        box.querySelector('input').focus();
        message = 'Enter the code from your authenticator app, or one of your recovery codes.';
      }
      if (error) {
        error.textContent = message;
        error.hidden = false;
      } else {
        window.alert(message);
      }
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  function forms() {
    for (const form of all('form[data-api], form[data-upload]')) {
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        submit(form);
      });
    }
    // A value carried in the fragment (never sent to any server), e.g. an invitation's token.
    const hash = new URLSearchParams(location.hash.slice(1));
    for (const el of all('[data-from-hash]')) {
      const v = hash.get(el.dataset.fromHash);
      if (v) el.value = v;
    }
  }

  // The transcript follows the player that is playing; a line's time plays from there.
  function player() {
    const list = document.querySelector('[data-transcript]');
    const audios = all('audio[data-recording]');
    if (!list || audios.length === 0) return;
    let active = null;
    let current = null;
    const highlight = (ms, follow) => {
      let found = null;
      for (const li of all('li[data-start]', list)) {
        if (+li.dataset.start <= ms && ms < +li.dataset.end) found = li;
      }
      if (found === current) return;
      if (current) current.removeAttribute('aria-current');
      if (found) {
        found.setAttribute('aria-current', 'true');
        if (follow) found.scrollIntoView({ block: 'nearest' });
      }
      current = found;
    };
    for (const a of audios) {
      a.addEventListener('timeupdate', () => {
        if (a === active || !a.paused) highlight(a.currentTime * 1000, !a.paused);
      });
      a.addEventListener('play', () => {
        active = a;
        for (const b of audios) if (b !== a) b.pause();
      });
    }
    const seek = (a, seconds, play) => {
      active = a;
      a.currentTime = seconds;
      highlight(seconds * 1000, false);
      if (play) a.play().catch(() => {});
    };
    list.addEventListener('click', (ev) => {
      const button = ev.target.closest('button.seek');
      if (!button) return;
      const li = button.closest('li');
      const own = audios.find((a) => a.dataset.recording === li.dataset.recording);
      seek(active || own || audios[0], +li.dataset.start / 1000, true);
    });
    const t = /#t=(\d+(?:\.\d+)?)/.exec(location.hash);
    if (t) seek(audios[0], +t[1], false);
  }

  const STATES = {
    queued: 'Waiting',
    running: 'Transcribing',
    succeeded: 'Done',
    dead: 'Failed',
    cancelled: 'Cancelled',
  };

  function transcriptLine(d) {
    const li = make('li');
    li.dataset.start = d.start_ms;
    li.dataset.end = d.end_ms;
    li.dataset.recording = d.recording_id;
    li.dataset.job = d.job_id;
    li.dataset.attempt = d.attempt;
    const s = Math.floor(d.start_ms / 1000);
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor(s / 60) % 60);
    const ss = String(s % 60).padStart(2, '0');
    const t = h > 0 ? h + ':' + mm.padStart(2, '0') + ':' + ss : mm + ':' + ss;
    const b = make('button', 'seek', t);
    b.type = 'button';
    b.setAttribute('aria-label', 'Play from ' + t);
    li.append(b, ' ', make('span', 'speaker', d.speaker), ' ', make('span', 'text', d.text));
    return li;
  }

  // Live progress and segments from the meeting's event stream; EventSource reconnects by
  // itself and resumes after the last event it saw.
  function events() {
    const box = document.querySelector('[data-events]');
    if (!box || !window.EventSource) return;
    const jobs = box.querySelector('.jobs');
    const live = box.querySelector('.live');
    const list = document.querySelector('[data-transcript]');
    const source = new EventSource(box.dataset.events);
    let stale = false;
    const settle = (why) => {
      stale = true;
      const busy = all('[data-job] .state', jobs).some((s) => s.dataset.state === 'queued' || s.dataset.state === 'running');
      const playing = all('audio').some((a) => !a.paused);
      if (!busy && !playing) {
        source.close();
        location.reload();
      } else {
        live.textContent = why;
      }
    };
    source.addEventListener('job', (m) => {
      const d = JSON.parse(m.data);
      let li = jobs.querySelector('[data-job="' + d.job_id + '"]');
      if (!li) {
        li = make('li');
        li.dataset.job = d.job_id;
        const bar = make('progress');
        bar.max = 100;
        bar.setAttribute('aria-label', 'Transcription progress');
        li.append(make('span', 'state'), ' ', bar);
        jobs.append(li);
      }
      const state = li.querySelector('.state');
      state.dataset.state = d.state;
      state.textContent = STATES[d.state] || d.state;
      li.querySelector('progress').value = Math.max(0, Math.min(100, d.progress));
      live.textContent = (STATES[d.state] || d.state) + (d.state === 'running' ? ': ' + d.progress + '%' : '') + (d.error ? ' — ' + d.error : '');
      if (stale && d.state === 'succeeded') settle('Transcription finished.');
    });
    source.addEventListener('segment', (m) => {
      const d = JSON.parse(m.data);
      if (!list) return;
      for (const old of all('li[data-job="' + d.job_id + '"]', list)) {
        if (old.dataset.attempt !== String(d.attempt)) old.remove();
      }
      const empty = list.parentElement.querySelector('.empty');
      if (empty) empty.remove();
      list.append(transcriptLine(d));
    });
    source.addEventListener('transcript_updated', () => settle('The transcript was saved; reload the page to read it in order.'));
    source.addEventListener('summary_updated', () => settle('The summary is ready; reload the page to read it.'));
    source.addEventListener('recording_stored', () => settle('A recording was stored; reload the page to play it.'));
    source.addEventListener('closed', () => source.close());
    // A page that only shows a state (a bot's) is drawn again when it changes.
    for (const name of (box.dataset.reloadOn || '').split(' ').filter(Boolean)) {
      source.addEventListener(name, () => {
        source.close();
        location.reload();
      });
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    forms();
    player();
    events();
  });
})();
