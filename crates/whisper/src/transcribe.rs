//! The long-audio loop: 30-second windows, timestamp-based seeking, temperature fallback,
//! no-speech skipping and the segments that come out, as OpenAI's `transcribe()` and
//! faster-whisper's `generate_segments`.

use std::ops::ControlFlow;

use crate::error::{Result, WhisperError};
use crate::gate::Gate;
use crate::mel::{HOP, N_FRAMES, SAMPLE_RATE};
use crate::search::{SearchTokens, WindowRequest, WindowResult, compression_ratio, decode_window};
use crate::vad::{TimeMap, speech_regions};
use crate::{DecodeOptions, Model, Progress, Segment, Task, Transcript, WindowTrace, Word, words};

/// Seconds per timestamp step (20 ms).
const TIME_PRECISION: f64 = 0.02;
/// Encoder frames per timestamp step.
const INPUT_STRIDE: usize = 2;

pub(crate) fn run(
    model: &Model,
    pcm: &[f32],
    opts: &DecodeOptions,
    on_progress: &mut dyn FnMut(Progress<'_>) -> ControlFlow<()>,
    on_window: &mut dyn FnMut(WindowTrace),
) -> Result<Transcript> {
    validate(opts)?;
    let duration = pcm.len() as f64 / SAMPLE_RATE as f64;
    let mut report = |p: Progress<'_>| match on_progress(p) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(WhisperError::Cancelled),
    };
    report(Progress::Advanced {
        done_secs: 0.0,
        total_secs: duration,
    })?;

    // Non-finite samples would poison the spectrogram's maximum.
    let clean: Vec<f32> = pcm
        .iter()
        .map(|&x| {
            if x.is_finite() {
                x.clamp(-1e4, 1e4)
            } else {
                0.0
            }
        })
        .collect();
    let gate = Gate::new(&clean, opts.no_speech_threshold);
    let (audio, map) = if opts.vad {
        TimeMap::concatenate(&clean, &speech_regions(&clean))
    } else {
        (clean, TimeMap::identity(pcm.len()))
    };
    let special = &model.tokenizer.special;
    let english_only = !model.dims.multilingual();
    let mut language = match (&opts.language, english_only) {
        (Some(l), true) if l != "en" => return Err(WhisperError::UnknownLanguage(l.clone())),
        (_, true) => Some("en".to_owned()),
        (Some(l), false) => {
            if !special.languages.iter().any(|(_, c)| c == l) {
                return Err(WhisperError::UnknownLanguage(l.clone()));
            }
            Some(l.clone())
        }
        (None, false) => None,
    };
    if english_only && opts.task == Task::Translate {
        return Err(WhisperError::Options(
            "translation into English needs a multilingual model; this one is English-only \
             (install one with `scripts/models.sh --model base`)"
                .into(),
        ));
    }
    let task_token = match opts.task {
        Task::Transcribe => special.transcribe,
        Task::Translate => special.translate.ok_or_else(|| {
            WhisperError::Options("the model's vocabulary has no <|translate|> token".into())
        })?,
    };
    // A language given is kept; otherwise it is detected in the first window, or in every
    // window when asked to.
    let detect_each_window = opts.multilingual && !english_only && opts.language.is_none();
    let initial_prompt = match opts.initial_prompt.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => model.prompt_tokens(text)?,
        _ => Vec::new(),
    };
    let mut transcript = Transcript {
        language: language.clone().unwrap_or_else(|| "en".into()),
        duration,
        segments: Vec::new(),
    };
    if audio.is_empty() {
        report(Progress::Advanced {
            done_secs: duration,
            total_secs: duration,
        })?;
        return Ok(transcript);
    }

    let mel = model.front.compute(&audio)?;
    let content_frames = mel.content_frames;
    let ids = SearchTokens {
        eot: special.eot,
        no_speech: special.no_speech,
    };
    let mut seek = 0usize;
    // faster-whisper's `all_tokens`: the initial prompt, then every segment's tokens; a window's
    // prompt is what came after `prompt_reset_since` (reset after every window unless
    // conditioning on previous text).
    let mut all_tokens: Vec<u32> = initial_prompt;
    let mut prompt_reset_since = 0usize;
    let mut last_end = 0.0f64;
    let mut last_speech = 0.0f64;
    while seek < content_frames {
        let segment_size = N_FRAMES.min(content_frames - seek);
        let time_offset = (seek * HOP) as f64 / SAMPLE_RATE as f64;
        let window = mel.window(seek, segment_size, &model.device)?;
        let audio_features = model.encoder.forward(&window)?;
        let cross = model.decoder.cross_kv(&audio_features)?;

        if language.is_none() || detect_each_window {
            let detected = model.window_language(&cross)?;
            if language.is_none() {
                transcript.language = detected.clone();
            }
            language = Some(detected);
        }
        let mut prompt = Vec::new();
        let previous = &all_tokens[prompt_reset_since.min(all_tokens.len())..];
        let keep = model.decoder.n_ctx() / 2 - 1;
        if !previous.is_empty() {
            prompt.push(special.sot_prev);
            prompt.extend_from_slice(&previous[previous.len().saturating_sub(keep)..]);
        }
        let sot_index = prompt.len();
        prompt.push(special.sot);
        if !english_only {
            let code = language.as_deref().unwrap_or("en");
            let lang_id = special
                .languages
                .iter()
                .find(|(_, c)| c == code)
                .map_or(special.sot + 1, |(id, _)| *id);
            prompt.push(lang_id);
            prompt.push(task_token);
        }

        let start_sequence = words::start_sequence(&prompt[sot_index..], special);
        let result = decode_with_fallback(
            model,
            &cross,
            ids,
            opts,
            prompt.clone(),
            sot_index,
            seek as u64,
        )?;
        on_window(WindowTrace {
            seek,
            prompt,
            tokens: result.tokens.clone(),
            avg_logprob: result.avg_logprob,
            no_speech_prob: result.no_speech_prob,
            temperature: result.temperature,
        });

        // No speech in this window: skip it whole.
        if let Some(threshold) = opts.no_speech_threshold {
            let silent = result.no_speech_prob > threshold
                && !opts
                    .logprob_threshold
                    .is_some_and(|lp| result.avg_logprob > lp);
            if silent {
                seek += segment_size;
                report_advance(&mut report, &map, seek, duration)?;
                continue;
            }
        }

        let tokens = &result.tokens;
        let tb = special.timestamp_begin;
        let is_ts: Vec<bool> = tokens.iter().map(|&t| t >= tb).collect();
        let single_ts_ending =
            is_ts.len() >= 2 && !is_ts[is_ts.len() - 2] && is_ts[is_ts.len() - 1];
        let mut pieces: Vec<(f64, f64, &[u32])> = Vec::new();
        let consecutive: Vec<usize> = (1..tokens.len())
            .filter(|&i| is_ts[i - 1] && is_ts[i])
            .collect();
        let advance;
        if !consecutive.is_empty() {
            let mut slices = consecutive;
            if single_ts_ending {
                slices.push(tokens.len());
            }
            let mut last = 0;
            for &cut in &slices {
                let sliced = &tokens[last..cut];
                if let (Some(&first), Some(&end)) = (sliced.first(), sliced.last()) {
                    let start = f64::from(first.saturating_sub(tb)) * TIME_PRECISION;
                    let end = f64::from(end.saturating_sub(tb)) * TIME_PRECISION;
                    pieces.push((time_offset + start, time_offset + end, sliced));
                }
                last = cut;
            }
            advance = if single_ts_ending {
                segment_size
            } else {
                let last_ts = tokens
                    .get(last.saturating_sub(1))
                    .map_or(0, |&t| t.saturating_sub(tb));
                last_ts as usize * INPUT_STRIDE
            };
        } else {
            let mut end = segment_size as f64 * HOP as f64 / SAMPLE_RATE as f64;
            if let Some(&last_ts) = tokens.iter().rev().find(|&&t| t > tb) {
                end = f64::from(last_ts - tb) * TIME_PRECISION;
            }
            pieces.push((time_offset, time_offset + end, tokens.as_slice()));
            advance = segment_size;
        }
        let window_seek = seek;
        // A window must always move the seek forward, or the loop would never end.
        seek += if advance == 0 {
            segment_size
        } else {
            advance.min(segment_size)
        };

        let mut piece_words = vec![Vec::new(); pieces.len()];
        if opts.word_timestamps {
            let place = words::WindowPlace {
                start_sequence: &start_sequence,
                language: language.as_deref().unwrap_or("en"),
                num_frames: segment_size,
                time_offset,
                last_speech,
            };
            piece_words = model.word_timestamps(&cross, &place, &mut pieces)?;
            // The next window starts after the last word, as faster-whisper's.
            if let Some(end) = words::last_end(&pieces, &piece_words) {
                if !single_ts_ending && end > time_offset {
                    let frame = (end * SAMPLE_RATE as f64 / HOP as f64).round() as usize;
                    seek = frame.max(window_seek + 1);
                }
                last_speech = end;
            }
        }

        for ((start, end, toks), timed) in pieces.into_iter().zip(piece_words) {
            // An empty or zero-length piece is dropped, and kept out of the next prompt too.
            let text = model.tokenizer.decode(toks).trim().to_owned();
            if text.is_empty() || start == end {
                continue;
            }
            let start = map
                .start_to_original(start, end)
                .max(last_end)
                .min(duration);
            let end = map.to_original(end, true).max(start).min(duration);
            // No words, or words the model heard in silence: not speech (see `gate`).
            if gate
                .check(&text, start, end, result.no_speech_prob)
                .is_err()
            {
                continue;
            }
            all_tokens.extend_from_slice(toks);
            last_end = end;
            let words = timed
                .into_iter()
                .map(|w| {
                    let start = map.start_to_original(w.start, w.end).min(duration);
                    let end = map.to_original(w.end, true).max(start).min(duration);
                    Word { start, end, ..w }
                })
                .collect();
            let segment = Segment {
                start,
                end,
                text,
                avg_logprob: result.avg_logprob,
                no_speech_prob: result.no_speech_prob,
                language: language.clone().unwrap_or_else(|| "en".into()),
                words,
            };
            report(Progress::Segment(&segment))?;
            transcript.segments.push(segment);
        }
        if !opts.condition_on_previous_text || result.temperature > 0.5 {
            prompt_reset_since = all_tokens.len();
        }
        report_advance(&mut report, &map, seek, duration)?;
    }
    Ok(transcript)
}

fn report_advance(
    report: &mut impl FnMut(Progress<'_>) -> Result<()>,
    map: &TimeMap,
    seek: usize,
    duration: f64,
) -> Result<()> {
    let done = map
        .to_original((seek * HOP) as f64 / SAMPLE_RATE as f64, true)
        .min(duration);
    report(Progress::Advanced {
        done_secs: done,
        total_secs: duration,
    })
}

fn validate(opts: &DecodeOptions) -> Result<()> {
    if opts.beam_size == 0 || opts.beam_size > 32 {
        return Err(WhisperError::Options(format!(
            "beam size {} is not in 1..=32",
            opts.beam_size
        )));
    }
    if opts.best_of == 0 || opts.best_of > 32 {
        return Err(WhisperError::Options(format!(
            "best of {} is not in 1..=32",
            opts.best_of
        )));
    }
    if opts.temperatures.iter().any(|t| !t.is_finite() || *t < 0.0) {
        return Err(WhisperError::Options(format!(
            "temperatures {:?} must be finite and ≥ 0",
            opts.temperatures
        )));
    }
    Ok(())
}

/// Decode at each temperature in turn until the result is neither repetitive (compression ratio)
/// nor improbable (average log-probability); an improbable decoding of a window judged silent
/// (`<|nospeech|>` above its threshold) needs no fallback either, as it will be skipped. If every
/// temperature fails, the likeliest result that is not repetitive (else the likeliest) is kept,
/// reported at the last temperature tried (which decides whether the prompt is reset), as
/// faster-whisper.
fn decode_with_fallback(
    model: &Model,
    cross: &crate::model::CrossKv,
    ids: SearchTokens,
    opts: &DecodeOptions,
    prompt: Vec<u32>,
    sot_index: usize,
    seed: u64,
) -> Result<WindowResult> {
    let temperatures = if opts.temperatures.is_empty() {
        vec![0.0]
    } else {
        opts.temperatures.clone()
    };
    let mut tried: Vec<(bool, WindowResult)> = Vec::new();
    for &temperature in &temperatures {
        let req = WindowRequest {
            prompt: prompt.clone(),
            sot_index,
            max_new: model.decoder.n_ctx() / 2,
            temperature,
            beam_size: opts.beam_size,
            best_of: opts.best_of,
            patience: 1.0,
            seed,
        };
        let result = decode_window(&model.decoder, cross, &model.rules, ids, &req)?;
        let text = model.tokenizer.decode(&result.tokens);
        let too_repetitive = opts
            .compression_ratio_threshold
            .is_some_and(|t| compression_ratio(text.trim()) > t);
        let too_improbable = opts
            .logprob_threshold
            .is_some_and(|t| result.avg_logprob < t);
        let silent = too_improbable
            && opts
                .no_speech_threshold
                .is_some_and(|t| result.no_speech_prob > t);
        if silent || !(too_repetitive || too_improbable) {
            return Ok(result);
        }
        tried.push((too_repetitive, result));
    }
    // Prefer results that are not repetitive, then the likeliest.
    let any_fine = tried.iter().any(|(rep, _)| !rep);
    let best = tried
        .into_iter()
        .filter(|(rep, _)| !(any_fine && *rep))
        .map(|(_, r)| r)
        .max_by(|a, b| a.avg_logprob.total_cmp(&b.avg_logprob));
    let last = temperatures.last().copied().unwrap_or(0.0);
    best.map(|r| WindowResult {
        temperature: last,
        ..r
    })
    .ok_or_else(|| WhisperError::Options("no temperature to decode with".into()))
}
