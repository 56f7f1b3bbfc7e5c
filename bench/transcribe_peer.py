"""Helpers for bench/transcribe.sh: make the speech files, run faster-whisper, print the table.

    make-audio DIR                          espeak-ng speech (known text) as 16 kHz WAV in DIR
    run MODEL COMPUTE BEAM THREADS FILE     faster-whisper on FILE; prints the text
    encode MODEL COMPUTE THREADS FILE N     CTranslate2's encoder on FILE's first 30-s window, N
                                            times; prints the median seconds
    table DIR RESULTS THREADS               the comparison table
"""
import os
import re
import subprocess
import sys

# The same sentences the integration tests speak.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentences.txt")) as _f:
    SENTENCES = [line.strip() for line in _f if line.strip()]
FILES = {
    "long-en-us": ("en-us", SENTENCES),
    "short-en-gb": ("en-gb+m3", SENTENCES[:5]),
}


def make_audio(out):
    for name, (voice, sentences) in FILES.items():
        raw = os.path.join(out, name + ".raw.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", raw, " ".join(sentences)], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", raw, "-ar", "16000", "-ac", "1",
                        os.path.join(out, name + ".wav")], check=True)
        os.remove(raw)
        with open(os.path.join(out, name + ".ref"), "w") as f:
            f.write(" ".join(sentences))


def run(model, compute, beam, threads, path):
    from faster_whisper import WhisperModel
    m = WhisperModel(model, device="cpu", compute_type=compute, cpu_threads=int(threads))
    # meetvault's defaults: no previous-text conditioning (faster-whisper's default is on).
    segments, _ = m.transcribe(path, beam_size=int(beam), language="en", vad_filter=True,
                               condition_on_previous_text=False)
    print(" ".join(s.text.strip() for s in segments))


def encode(model, compute, threads, path, n):
    import time
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio
    m = WhisperModel(model, device="cpu", compute_type=compute, cpu_threads=int(threads))
    features = m.feature_extractor(decode_audio(path)[: 30 * 16000])[:, :3000]
    if features.shape[1] < 3000:  # pad like a last window: zeros in the log-mel domain's floor
        import numpy as np
        features = np.pad(features, ((0, 0), (0, 3000 - features.shape[1])))
    m.encode(features)  # warm-up
    times = []
    for _ in range(int(n)):
        t = time.perf_counter()
        m.encode(features)
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"{times[len(times) // 2]:.3f}")


def words(text):
    return [w for w in (re.sub(r"[^\w']", "", t).lower() for t in text.split()) if w]


def wer(ref, hyp):
    r, h = words(ref), words(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1] / max(len(r), 1)


def duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


# The CPU flags that decide which kernels run (meetvault's int8 products, CTranslate2's).
FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
         "avx_vnni", "amx_int8")


def cpu():
    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return model, [f for f in FLAGS if f in flags]


def table(work, results, threads):
    runs = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
    # Each engine ran BENCH_REPEAT times, interleaved with the others: its row is the median
    # wall and user time and the highest RSS (the machine may be shared; a median resists that).
    import statistics
    grouped = {}
    for name, path, wall, user, rss, out in runs:
        grouped.setdefault((name, path), []).append((float(wall), float(user), int(rss), out))
    rows = [(name, path, statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
             max(r[2] for r in rs), rs[0][3]) for (name, path), rs in grouped.items()]
    repeats = max(len(rs) for rs in grouped.values())
    model, flags = cpu()
    print(f"\nWhisper {os.path.basename(os.environ.get('BENCH_MODEL', 'tiny.en'))} (CTranslate2 folder), "
          f"{threads} threads, {os.cpu_count()} cores; wall = whole process (model load + decode), "
          f"user = CPU seconds in user mode; median of {repeats} run(s) each")
    print(f"CPU: {model}; flags: {' '.join(flags) or 'none of ' + ' '.join(FLAGS)}\n")
    print(f"{'engine/beam':<30} {'file':<14} {'audio s':>8} {'wall s':>8} {'user s':>7} {'RTF':>6} {'RSS MB':>7} {'WER %':>6}  vs fw-int8  vs fw-f32")
    by = {}
    for name, path, wall, user, rss, out in rows:
        by[(name, path)] = float(wall)
    for name, path, wall, user, rss, out in rows:
        ref = open(path[:-4] + ".ref").read()
        hyp = open(out).read()
        if hyp.lstrip().startswith("{"):  # meetvault transcribe --json
            import json
            hyp = " ".join(s["text"] for s in json.loads(hyp)["segments"])
        audio = duration(path)
        ratio = ""
        if name.startswith("meetvault"):
            beam = name.split("/")[1]
            for compute in ("int8", "float32"):
                peer = by.get((f"faster-whisper-{compute}/{beam}", path))
                ratio += f"  {float(wall) / peer:8.2f}×" if peer else "          "
        print(f"{name:<30} {os.path.basename(path)[:-4]:<14} {audio:8.1f} {float(wall):8.2f} "
              f"{float(user):7.2f} {float(wall) / audio:6.3f} {int(rss) / 1024:7.0f} {100 * wer(ref, hyp):6.1f}{ratio}")
    print("\nratio < 1: meetvault is faster than that faster-whisper run.")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"make-audio": make_audio, "run": run, "encode": encode, "table": table}[cmd](*args)
