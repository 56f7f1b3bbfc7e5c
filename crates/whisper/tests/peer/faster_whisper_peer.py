"""faster-whisper beside meetvault's engine, for the differential test (`tests/engine/parity.rs`).

    windows MODEL WAV BEAM CONDITION COMPUTE [MEL]   JSON: every 30-s window faster-whisper
                                                     decoded (seek, prompt, tokens, scores) and
                                                     its segments; with MEL, the log-mel
                                                     features written there (raw little-endian
                                                     f32, frame-major)
    decode MODEL WAV COMPUTE OPTIONS [MEL]           the same, with `transcribe`'s options as a
                                                     JSON object (beam_size,
                                                     condition_on_previous_text, language, task,
                                                     initial_prompt, multilingual), and the
                                                     detected language with its probabilities
    encode MODEL TEXTS                               JSON: the tokens faster-whisper's tokenizer
                                                     makes of each text in the JSON list TEXTS
    words MODEL WAV COMPUTE                          JSON: the segments and their words with
                                                     word_timestamps=True (greedy, no VAD, no
                                                     previous-text conditioning)

Audio is read from a 16-bit mono 16 kHz WAV without resampling, so both engines see the same
samples. The windows are recorded by wrapping `WhisperModel.generate_with_fallback`, the one
call faster-whisper makes per window; each window's first frame comes from faster-whisper's
debug log line "Processing segment at MM:SS.mmm" (10-ms frames, so the milliseconds are exact).
"""
import json
import logging
import sys
import wave

import numpy as np


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != 16000:
            raise SystemExit(f"{path}: expected 16-bit mono 16 kHz WAV")
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def windows(model_dir, wav, beam, condition, compute, mel_out=None):
    options = {"beam_size": int(beam), "condition_on_previous_text": condition == "1", "language": "en"}
    decode(model_dir, wav, compute, json.dumps(options), mel_out)


def decode(model_dir, wav, compute, options, mel_out=None):
    from faster_whisper import WhisperModel
    from faster_whisper.feature_extractor import FeatureExtractor

    if mel_out:
        features = FeatureExtractor()(read_wav(wav))
        np.ascontiguousarray(features.T, dtype="<f4").tofile(mel_out)

    model = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=2)
    recorded = []
    seeks = []

    class Seeks(logging.Handler):
        def emit(self, record):
            if record.msg == "Processing segment at %s":
                minutes, seconds = str(record.args[0]).rsplit(":", 1)
                hours = 0
                if ":" in minutes:
                    hours, minutes = minutes.split(":")
                secs = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
                seeks.append(round(secs * 100))

    model.logger.setLevel(logging.DEBUG)
    model.logger.addHandler(Seeks())
    model.logger.propagate = False
    inner = model.generate_with_fallback

    def record(encoder_output, prompt, tokenizer, options):
        result, avg_logprob, temperature, compression_ratio = inner(
            encoder_output, prompt, tokenizer, options
        )
        recorded.append(
            {
                "seek": seeks[-1],
                "prompt": [int(t) for t in prompt],
                "tokens": [int(t) for t in result.sequences_ids[0]],
                "avg_logprob": float(avg_logprob),
                "no_speech_prob": float(result.no_speech_prob),
                "temperature": float(temperature),
                "compression_ratio": float(compression_ratio),
            }
        )
        return result, avg_logprob, temperature, compression_ratio

    model.generate_with_fallback = record
    segments, info = model.transcribe(
        read_wav(wav),
        vad_filter=False,
        without_timestamps=False,
        **json.loads(options),
    )
    segs = [
        {"seek": s.seek, "start": s.start, "end": s.end, "text": s.text, "tokens": s.tokens}
        for s in segments
    ]
    probs = [[code, float(p)] for code, p in (info.all_language_probs or [])]
    json.dump(
        {
            "windows": recorded,
            "segments": segs,
            "language": info.language,
            "language_probability": float(info.language_probability),
            "language_probs": probs,
        },
        sys.stdout,
    )


def encode(model_dir, texts):
    import os
    import tokenizers

    tokenizer = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    json.dump([tokenizer.encode(t, add_special_tokens=False).ids for t in json.loads(texts)], sys.stdout)


def words(model_dir, wav, compute):
    from faster_whisper import WhisperModel

    model = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=2)
    segments, _ = model.transcribe(
        read_wav(wav),
        language="en",
        beam_size=1,
        condition_on_previous_text=False,
        vad_filter=False,
        word_timestamps=True,
    )
    segs = [
        {
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "words": [
                {"text": w.word, "start": w.start, "end": w.end, "probability": w.probability}
                for w in s.words
            ],
        }
        for s in segments
    ]
    json.dump({"segments": segs}, sys.stdout)


if __name__ == "__main__":
    {"windows": windows, "decode": decode, "encode": encode, "words": words}[sys.argv[1]](
        *sys.argv[2:]
    )
