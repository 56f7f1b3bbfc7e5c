// meetvault's capture script, run in every document of the bot's tab before the page's own
// scripts (Page.addScriptToEvaluateOnNewDocument). It wraps RTCPeerConnection and, for every
// remote audio track, reads the track with MediaStreamTrackProcessor (never ScriptProcessor),
// downmixes each AudioData frame to mono, and ships ~100 ms runs of 16-bit PCM with the first
// frame's timestamp to the bot through a CDP binding. A run ends early where the frame
// timestamps jump (the playout clock skipped, or frames were lost), so the bot can keep the
// track on its timeline. Every second it also sends what WebRTC says it decoded for the track
// next to what was read, so the bot can tell audio the capture lost from a playout clock that
// merely ran late. Every message carries the per-launch token; the binding's random name is
// removed from the global object once taken.
(() => {
  "use strict";
  const BINDING = "__MEETVAULT_BINDING__";
  const TOKEN = "__MEETVAULT_TOKEN__";
  // Timestamps further than this from where the previous frame ended start a new run (µs):
  // they jitter by up to ~5 ms, a lost frame moves them 10 ms.
  const JUMP_US = 7500;
  // How often the receiver's stats are read (ms).
  const STATS_MS = 1000;

  const binding = globalThis[BINDING];
  if (typeof binding !== "function") return;
  try {
    delete globalThis[BINDING];
  } catch (_) {}
  // Taken now, before any page script can replace them.
  const stringify = JSON.stringify.bind(JSON);
  const fromCharCode = String.fromCharCode;
  const btoa = globalThis.btoa.bind(globalThis);
  const now = Date.now.bind(Date);
  const Processor = globalThis.MediaStreamTrackProcessor;
  const Native = globalThis.RTCPeerConnection;

  const send = (message) => {
    message.t = TOKEN;
    binding(stringify(message));
  };
  const toBase64 = (bytes) => {
    if (typeof bytes.toBase64 === "function") return bytes.toBase64();
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };

  if (typeof Native !== "function") return;
  if (typeof Processor !== "function") {
    send({ e: "error", message: "MediaStreamTrackProcessor is not available" });
    return;
  }
  // Distinguishes documents (a reload restarts the peer-connection counter).
  const doc = Array.from(crypto.getRandomValues(new Uint32Array(2)), (n) =>
    n.toString(16),
  ).join("");
  let connections = 0;

  async function pump(key, track, receiver) {
    // Chromium delivers a remote track's audio only while something plays it out: a page
    // usually does, but the capture must not depend on that. (The bot's output is muted.)
    const sink = new Audio();
    sink.srcObject = new MediaStream([track]);
    sink.play().catch(() => {});
    const processor = new Processor({ track, maxBufferSize: 100 });
    const reader = processor.readable.getReader();
    let pcm = new Int16Array(9600);
    let mono = new Float32Array(960);
    let plane = new Float32Array(960);
    let n = 0;
    let start = null;
    let rate = 0;
    let next = 0;
    // Duration of the audio read from the processor so far (µs).
    let readUs = 0;
    const poll = async () => {
      // Taken before the stats, so audio read while they are gathered is not counted.
      const read = readUs;
      const report = await receiver.getStats();
      report.forEach((s) => {
        if (s.type !== "inbound-rtp" || s.kind !== "audio") return;
        send({
          e: "decoded",
          ...key,
          read,
          decoded: (s.totalSamplesDuration || 0) * 1e6,
          samples: s.totalSamplesReceived || 0,
          concealed: (s.concealedSamples || 0) - (s.silentConcealedSamples || 0),
        });
      });
    };
    const timer = receiver
      ? setInterval(() => {
          poll().catch(() => {});
        }, STATS_MS)
      : null;
    const flush = () => {
      if (n > 0) {
        const bytes = new Uint8Array(pcm.buffer, 0, n * 2);
        send({ e: "audio", ...key, ts: start, rate, n, pcm: toBase64(bytes) });
      }
      n = 0;
      start = null;
    };
    try {
      for (;;) {
        const { value: frame, done } = await reader.read();
        if (done) break;
        try {
          const frames = frame.numberOfFrames;
          const channels = frame.numberOfChannels;
          const ts = frame.timestamp;
          if (start !== null && (frame.sampleRate !== rate || Math.abs(ts - next) > JUMP_US)) {
            flush();
          }
          if (start === null) {
            start = ts;
            rate = frame.sampleRate;
          }
          if (mono.length < frames) {
            mono = new Float32Array(frames);
            plane = new Float32Array(frames);
          }
          mono.fill(0, 0, frames);
          for (let c = 0; c < channels; c++) {
            frame.copyTo(plane, { planeIndex: c, format: "f32-planar" });
            for (let i = 0; i < frames; i++) mono[i] += plane[i];
          }
          if (pcm.length < n + frames) {
            const bigger = new Int16Array((n + frames) * 2);
            bigger.set(pcm.subarray(0, n));
            pcm = bigger;
          }
          for (let i = 0; i < frames; i++) {
            const s = mono[i] / channels;
            pcm[n + i] = s >= 1 ? 32767 : s <= -1 ? -32768 : Math.round(s * 32767);
          }
          n += frames;
          readUs += (frames * 1e6) / frame.sampleRate;
          next = ts + (frames * 1e6) / rate;
          if (n >= rate / 10) flush();
        } finally {
          frame.close();
        }
      }
    } finally {
      if (timer !== null) clearInterval(timer);
    }
    flush();
    sink.srcObject = null;
  }

  function onTrack(pc, active, event) {
    const track = event.track;
    if (!track || track.kind !== "audio") return;
    const transceiver = event.transceiver;
    const mid = transceiver && transceiver.mid != null ? String(transceiver.mid) : "x" + active.size;
    if (active.get(mid) === track) return;
    active.set(mid, track);
    const key = { doc, pc, mid };
    const stream = event.streams && event.streams[0] ? event.streams[0].id : null;
    send({ e: "start", ...key, stream, track: track.id, wall: now() });
    const receiver =
      event.receiver && typeof event.receiver.getStats === "function" ? event.receiver : null;
    pump(key, track, receiver)
      .catch((error) => send({ e: "error", ...key, message: String(error) }))
      .finally(() => {
        if (active.get(mid) === track) active.delete(mid);
        send({ e: "end", ...key });
      });
  }

  class RTCPeerConnection extends Native {
    constructor(...args) {
      super(...args);
      const pc = connections++;
      const active = new Map();
      this.addEventListener("track", (event) => {
        try {
          onTrack(pc, active, event);
        } catch (error) {
          send({ e: "error", message: String(error) });
        }
      });
    }
  }
  globalThis.RTCPeerConnection = RTCPeerConnection;
  if ("webkitRTCPeerConnection" in globalThis) {
    globalThis.webkitRTCPeerConnection = RTCPeerConnection;
  }
})();
