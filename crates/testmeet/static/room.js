// testmeet's page: the pre-join screen, the lobby, the meeting (participants, chat, host
// controls) and a WebRTC mesh whose signalling goes over the room's websocket. Text from
// others is only ever set as textContent. No external resources.
'use strict';

(() => {
  const $ = (selector) => document.querySelector(selector);
  const room = decodeURIComponent(location.pathname.split('/')[2] || '');
  const hostKey = new URLSearchParams(location.search).get('host');
  const NOTICES = {
    denied: 'The host denied your request',
    removed: 'You were removed from the meeting',
    ended: 'The meeting has ended',
    disconnected: 'Lost the connection to the meeting',
  };

  let ws = null;
  let me = null;
  let mySeq = 0;
  let isHost = false;
  let localStream = null;
  let ended = false;
  // Remote peer id → {pc, seq}.
  const peers = new Map();
  // Messages are handled one at a time, in order, so SDP and ICE never race.
  let queue = Promise.resolve();

  $('#room-name').textContent = room;

  const pressed = (button) => button.getAttribute('aria-pressed') === 'true';
  for (const [button, kind] of [[$('#mic-toggle'), 'audio'], [$('#cam-toggle'), 'video']]) {
    button.addEventListener('click', () => {
      const on = !pressed(button);
      button.setAttribute('aria-pressed', String(on));
      if (localStream) {
        for (const track of localStream.getTracks()) {
          if (track.kind === kind) track.enabled = on;
        }
      }
    });
  }

  function setState(state) {
    document.body.dataset.state = state;
    $('#prejoin').hidden = state !== 'prejoin';
    $('#lobby').hidden = state !== 'lobby';
    $('#meeting').hidden = state !== 'joined';
    $('#host-controls').hidden = !(state === 'joined' && isHost);
  }

  function showError(message) {
    $('#error').textContent = message;
    $('#error').hidden = false;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  async function join() {
    const name = $('#name').value.trim();
    if (!name) {
      showError('Enter your name to join');
      return;
    }
    $('#join').disabled = true;
    const audio = pressed($('#mic-toggle'));
    const video = pressed($('#cam-toggle'));
    if (audio || video) {
      try {
        localStream = await navigator.mediaDevices.getUserMedia({
          audio: audio ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : false,
          video,
        });
      } catch (e) {
        showError('Could not open your microphone or camera (' + e.name + '); joining without them');
        localStream = null;
      }
    }
    ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host
      + '/ws/' + encodeURIComponent(room));
    ws.addEventListener('open', () => send({
      type: 'join', name, stream_id: localStream ? localStream.id : null, host_key: hostKey,
    }));
    ws.addEventListener('message', (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (_) { return; }
      queue = queue.then(() => handle(message)).catch((e) => console.error('testmeet:', e));
    });
    // After the messages before it: the server sends `ended` then closes, and a close
    // handled first would show `disconnected` instead of the reason.
    ws.addEventListener('close', () => {
      queue = queue.then(() => { if (!ended) finish('disconnected'); });
    });
  }
  $('#join').addEventListener('click', join);

  async function handle(message) {
    switch (message.type) {
      case 'welcome':
        me = message.id;
        isHost = message.host;
        setState(message.state);
        break;
      case 'admitted':
        setState('joined');
        break;
      case 'roster':
        await roster(message.participants, message.lobby);
        break;
      case 'signal':
        await signal(message.from, message.data);
        break;
      case 'chat':
        chat(message);
        break;
      case 'error':
        showError(message.message);
        break;
      case 'ended':
        finish(message.reason);
        break;
      default:
        break;
    }
  }

  function finish(reason) {
    ended = true;
    for (const id of [...peers.keys()]) dropPeer(id);
    if (localStream) for (const track of localStream.getTracks()) track.stop();
    const notice = $('#notice');
    notice.dataset.reason = reason;
    notice.textContent = NOTICES[reason] || NOTICES.ended;
    notice.hidden = false;
    setState('ended');
    if (ws) ws.close();
  }

  async function roster(participants, lobby) {
    const list = $('#participants');
    list.replaceChildren(...participants.map((p) => {
      const li = document.createElement('li');
      li.dataset.participantId = p.id;
      li.dataset.streamId = p.stream_id || '';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.name;
      li.append(name);
      if (p.host) {
        const tag = document.createElement('span');
        tag.className = 'host-tag';
        tag.textContent = ' (host)';
        li.append(tag);
      }
      if (isHost && p.id !== me) li.append(button('remove', 'Remove', () => send({ type: 'remove', id: p.id })));
      return li;
    }));
    $('#lobby-list').replaceChildren(...lobby.map((p) => {
      const li = document.createElement('li');
      li.dataset.participantId = p.id;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.name;
      li.append(name,
        button('admit', 'Admit', () => send({ type: 'admit', id: p.id })),
        button('deny', 'Deny', () => send({ type: 'deny', id: p.id })));
      return li;
    }));
    const self = participants.find((p) => p.id === me);
    if (!self) return;
    mySeq = self.seq;
    const present = new Set(participants.map((p) => p.id));
    for (const id of [...peers.keys()]) if (!present.has(id)) dropPeer(id);
    // Of two peers, the one who joined later makes the offer.
    for (const p of participants) {
      if (p.id !== me && !peers.has(p.id) && mySeq > p.seq) await offer(p.id, p.seq);
    }
  }

  function button(className, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = className;
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  }

  function makePeer(id, seq) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    peers.set(id, { pc, seq });
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate) send({ type: 'signal', to: id, data: { candidate: event.candidate.toJSON() } });
    });
    pc.addEventListener('track', (event) => showRemote(id, event));
    return pc;
  }

  function addLocalTracks(pc) {
    if (!localStream) return;
    for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
  }

  async function offer(id, seq) {
    const pc = makePeer(id, seq);
    addLocalTracks(pc);
    // Receive audio and video even when sending none.
    for (const kind of ['audio', 'video']) {
      if (!localStream || localStream.getTracks().every((t) => t.kind !== kind)) {
        pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: 'signal', to: id, data: { sdp: pc.localDescription.toJSON() } });
  }

  // ICE candidates that came before their peer's description.
  const early = new Map();

  async function signal(from, data) {
    if (!data) return;
    const peer = peers.get(from);
    if (data.sdp && data.sdp.type === 'offer') {
      if (peer) dropPeer(from);
      const pc = makePeer(from, 0);
      await pc.setRemoteDescription(data.sdp);
      await flushCandidates(from, pc);
      addLocalTracks(pc);
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'signal', to: from, data: { sdp: pc.localDescription.toJSON() } });
    } else if (peer && data.sdp && data.sdp.type === 'answer') {
      await peer.pc.setRemoteDescription(data.sdp);
      await flushCandidates(from, peer.pc);
    } else if (data.candidate) {
      if (peer && peer.pc.remoteDescription) {
        await peer.pc.addIceCandidate(data.candidate);
      } else {
        if (!early.has(from)) early.set(from, []);
        early.get(from).push(data.candidate);
      }
    }
  }

  async function flushCandidates(from, pc) {
    const waiting = early.get(from) || [];
    early.delete(from);
    for (const candidate of waiting) await pc.addIceCandidate(candidate);
  }

  function showRemote(id, event) {
    const stream = event.streams[0] || new MediaStream([event.track]);
    const kind = event.track.kind;
    const selector = kind + '[data-participant-id="' + CSS.escape(id) + '"]';
    let element = $('#media').querySelector(selector);
    if (!element) {
      element = document.createElement(kind);
      element.dataset.participantId = id;
      element.autoplay = true;
      if (kind === 'video') {
        element.muted = true;
        element.playsInline = true;
      }
      $('#media').append(element);
    }
    element.dataset.streamId = stream.id;
    element.srcObject = stream;
    element.play().catch(() => {});
  }

  function dropPeer(id) {
    early.delete(id);
    const peer = peers.get(id);
    if (peer) peer.pc.close();
    peers.delete(id);
    for (const element of $('#media').querySelectorAll('[data-participant-id="' + CSS.escape(id) + '"]')) {
      element.srcObject = null;
      element.remove();
    }
  }

  function chat(message) {
    const div = document.createElement('div');
    div.className = 'msg';
    div.dataset.senderId = message.from;
    div.dataset.ts = String(message.ts);
    const sender = document.createElement('span');
    sender.className = 'sender';
    sender.textContent = message.name;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = message.text;
    div.append(sender, text);
    const box = $('#chat-messages');
    box.append(div);
    box.scrollTop = box.scrollHeight;
  }

  function sendChat() {
    const input = $('#chat-input');
    const text = input.value;
    if (!text.trim()) return;
    send({ type: 'chat', text });
    input.value = '';
  }
  $('#chat-send').addEventListener('click', sendChat);
  $('#chat-input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      sendChat();
    }
  });

  $('#end-meeting').addEventListener('click', () => send({ type: 'end' }));
})();
