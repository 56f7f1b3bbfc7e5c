//! `meetvault transcribe FILE…` (no server needed: decode, run local Whisper, print or write
//! the transcript or its English translation; several files are one track each, labelled by
//! file name and merged by time) and `meetvault models list` (the models `scripts/models.sh`
//! installs, installed or not, and any other model folder: size, languages, checksum).

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use meetvault_config::{Config, LocalModel};
use meetvault_stt::{ExportFormat, ExportMeta, TrackTranscript};
use sha2::Digest as _;

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Audio files (WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis, Ogg/WebM Opus). Several files are one
    /// track each (one speaker per file, named after the file), merged by time.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The model: `tiny.en` or `base` (installed under DATA_DIR/models by `scripts/models.sh
    /// --model NAME`), or a model folder (faster-whisper/CTranslate2 or Hugging Face); default:
    /// `transcription.model` / `transcription.model_dir`.
    #[arg(long, value_name = "NAME|DIR")]
    model: Option<String>,
    /// The spoken language (`en`, `de`, …); detected by multilingual models when absent.
    #[arg(long, value_name = "CODE")]
    language: Option<String>,
    /// `transcribe` (the spoken language) or `translate` (into English; multilingual models).
    #[arg(long, default_value = "transcribe", value_name = "TASK", value_parser = parse_task)]
    task: meetvault_whisper::Task,
    /// Names and jargon to spell that way (Whisper's initial prompt), e.g. "Siobhan, Kubernetes".
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// Without --language, detect the language in every 30-second window instead of once per
    /// file (a speaker who switches language).
    #[arg(long)]
    multilingual: bool,
    /// Beam width: 1 = greedy (fast), 5 = beam search.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    beam: Option<u32>,
    /// Output format: txt, srt, vtt, md or json.
    #[arg(long, default_value = "txt", value_name = "FORMAT")]
    format: String,
    /// Write the transcript here instead of printing it.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print one JSON document (files, timings, segments) for scripts; no progress bar.
    #[arg(long)]
    json: bool,
    /// Don't skip silence before decoding.
    #[arg(long)]
    no_vad: bool,
    /// Time every word (one more decoder pass per 30-s window): JSON output carries each
    /// segment's `words` (text, start, end, probability).
    #[arg(long)]
    word_timestamps: bool,
    /// Karaoke cues (implies --word-timestamps): WebVTT with a timestamp before each word, SRT
    /// with one cue per word, underlined. Only for --format srt or vtt.
    #[arg(long)]
    karaoke: bool,
    /// How linear layers compute: int8 (weights quantised at load) or f32; default:
    /// `transcription.compute_type` (int8).
    #[arg(long, value_name = "TYPE", value_enum)]
    compute_type: Option<ComputeTypeArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ComputeTypeArg {
    F32,
    Int8,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The models: tiny.en and base (installed or not, and how to install them) and any other
    /// folder under DATA_DIR/models; name, path, format, languages, size, SHA-256 of the weights.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, serde::Serialize)]
struct FileReport {
    path: PathBuf,
    speaker: String,
    audio_secs: f64,
    wall_secs: f64,
    real_time_factor: f64,
    language: String,
    /// Every language its segments were in, in order of appearance (several with
    /// --multilingual when the speaker switches).
    languages: Vec<String>,
    segments: usize,
}

fn bar(json: bool, total: f64, file: &Path) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new((total * 10.0) as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    bar
}

pub fn transcribe(config: &Config, args: TranscribeArgs) -> anyhow::Result<()> {
    let format: ExportFormat = args
        .format
        .parse()
        .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    if args.karaoke && (args.json || !matches!(format, ExportFormat::Srt | ExportFormat::Vtt)) {
        bail!("--karaoke makes subtitle cues: use it with --format srt or --format vtt");
    }
    let (dir, install) = match args.model.as_deref() {
        Some(value) => model_choice(config, value),
        None => (
            config.model_dir(),
            install_hint(config, config.transcription.model),
        ),
    };
    let compute = match args.compute_type {
        Some(ComputeTypeArg::F32) => meetvault_config::ComputeType::F32,
        Some(ComputeTypeArg::Int8) => meetvault_config::ComputeType::Int8,
        None => config.transcription.compute_type,
    };
    let precision = meetvault_core::transcription::precision(compute);
    let model = meetvault_whisper::Model::load_with_precision(&dir, precision)
        .with_context(|| format!("loading the model from {} ({install})", dir.display()))?;
    if args.task == meetvault_whisper::Task::Translate && !model.info().multilingual {
        bail!(
            "--task translate: the model in {} is English-only; use the multilingual one \
             (`scripts/models.sh --model base`, then --model base)",
            dir.display()
        );
    }
    if let Some(code) = &args.language
        && !model
            .languages()
            .contains(&meetvault_core::transcription::primary_language(code))
    {
        bail!(
            "--language {code}: the model in {} does not know it ({})",
            dir.display(),
            if model.info().multilingual {
                "use a Whisper language code: en, de, fr, es, it, pt, zh, ja, …"
            } else {
                "it is English-only: use the multilingual one with --model base"
            }
        );
    }
    if let Some(prompt) = &args.prompt {
        model
            .prompt_tokens(prompt)
            .map_err(|e| anyhow::anyhow!("--prompt: {e}"))?;
    }
    let limits = meetvault_core::transcription::audio_limits(config);
    let mut tracks = Vec::new();
    let mut reports = Vec::new();
    for file in &args.files {
        let (pcm, info) = meetvault_audio::decode_file(file, &limits)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let speaker = if args.files.len() == 1 {
            "unknown".to_owned()
        } else {
            file.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "unknown".into())
        };
        let mut opts =
            meetvault_core::transcription::decode_options(config, args.beam, args.language.clone());
        opts.vad &= !args.no_vad;
        opts.task = args.task;
        opts.initial_prompt = args.prompt.clone();
        opts.multilingual = args.multilingual;
        opts.word_timestamps = args.word_timestamps || args.karaoke;
        let progress = bar(args.json, info.duration_secs, file);
        let started = Instant::now();
        let transcript = model
            .transcribe(&pcm, &opts, &mut |p| {
                if let meetvault_whisper::Progress::Advanced {
                    done_secs,
                    total_secs,
                } = p
                {
                    let wall = started.elapsed().as_secs_f64();
                    let rtf = if done_secs > 0.0 {
                        wall / done_secs
                    } else {
                        0.0
                    };
                    progress.set_position((done_secs * 10.0) as u64);
                    progress.set_message(format!(
                        "{done_secs:.1}/{total_secs:.1} s audio · {rtf:.2}× real time"
                    ));
                }
                ControlFlow::Continue(())
            })
            .with_context(|| format!("transcribing {}", file.display()))?;
        progress.finish_and_clear();
        let wall = started.elapsed().as_secs_f64();
        reports.push(FileReport {
            path: file.clone(),
            speaker: speaker.clone(),
            audio_secs: info.duration_secs,
            wall_secs: wall,
            real_time_factor: if info.duration_secs > 0.0 {
                wall / info.duration_secs
            } else {
                0.0
            },
            language: transcript.language.clone(),
            languages: transcript
                .segments
                .iter()
                .fold(Vec::<String>::new(), |mut seen, s| {
                    if !seen.contains(&s.language) {
                        seen.push(s.language.clone());
                    }
                    seen
                }),
            segments: transcript.segments.len(),
        });
        tracks.push(TrackTranscript {
            speaker,
            language: Some(transcript.language.clone()),
            segments: meetvault_core::transcription::raw_segments(&transcript),
        });
    }
    let language = reports.first().map(|r| r.language.clone());
    let segments = meetvault_stt::merge_tracks(tracks);
    let title = args
        .files
        .first()
        .and_then(|f| f.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = ExportMeta {
        title: &title,
        started_at: None,
        language: language.as_deref(),
    };
    let text = if args.json {
        serde_json::to_string_pretty(&serde_json::json!({
            "model": dir,
            "files": reports,
            "language": language,
            "segments": segments,
        }))? + "\n"
    } else {
        let options = meetvault_stt::ExportOptions {
            karaoke: args.karaoke,
        };
        meetvault_stt::export_with(format, &meta, &segments, options)
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            if !args.json {
                for r in &reports {
                    eprintln!(
                        "{}: {:.1} s of audio in {:.1} s ({:.2}× real time), {} segments",
                        r.path.display(),
                        r.audio_secs,
                        r.wall_secs,
                        r.real_time_factor,
                        r.segments
                    );
                }
                eprintln!("wrote {}", path.display());
            }
        }
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    Ok(())
}

fn parse_task(s: &str) -> Result<meetvault_whisper::Task, String> {
    match s {
        "transcribe" => Ok(meetvault_whisper::Task::Transcribe),
        "translate" => Ok(meetvault_whisper::Task::Translate),
        _ => Err("choose transcribe or translate".into()),
    }
}

/// `--model`'s folder: a known name's place under DATA_DIR/models (unless a folder of that name
/// is here), else the folder given; and how to install it.
fn model_choice(config: &Config, value: &str) -> (PathBuf, String) {
    match LocalModel::from_name(value) {
        Some(known) if !Path::new(value).is_dir() => {
            (config.local_model_dir(known), install_hint(config, known))
        }
        _ => (
            PathBuf::from(value),
            "--model takes a model folder, or the name of one `scripts/models.sh --model \
             tiny.en|base` installed"
                .to_owned(),
        ),
    }
}

fn install_command(config: &Config, model: LocalModel) -> String {
    format!(
        "scripts/models.sh --model {} {}",
        model.name(),
        config.data_dir.join("models").display()
    )
}

fn install_hint(config: &Config, model: LocalModel) -> String {
    format!(
        "install it with `{}`, or pass --model NAME|DIR",
        install_command(config, model)
    )
}

#[derive(Debug, serde::Serialize)]
struct ModelReport {
    /// `tiny.en`, `base`, or the folder's name for a folder of one's own.
    name: String,
    path: PathBuf,
    installed: bool,
    format: Option<meetvault_whisper::ModelFormat>,
    bytes: u64,
    weights_sha256: Option<String>,
    multilingual: Option<bool>,
    /// How many languages it transcribes (1: English only).
    languages: Option<usize>,
    /// The command that installs it (known models).
    install: Option<String>,
    /// Why the folder is not a usable model, if it is not.
    problem: Option<String>,
    default: bool,
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

fn report(name: String, dir: &Path, default: &Path, install: Option<String>) -> ModelReport {
    let bytes = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let weights = ["model.bin", "model.safetensors"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let installed = dir.is_dir();
    let (format, multilingual, mut problem) = match meetvault_whisper::inspect(dir) {
        Ok(info) => (Some(info.format), Some(info.multilingual), None),
        Err(_) if !installed => (None, None, None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    // Read from the model's own vocabulary, not assumed.
    let languages = match multilingual.map(|_| meetvault_whisper::languages(dir)) {
        Some(Ok(list)) => Some(list.len()),
        Some(Err(e)) => {
            problem = Some(e.to_string());
            None
        }
        None => None,
    };
    ModelReport {
        name,
        path: dir.to_path_buf(),
        installed,
        format,
        bytes,
        weights_sha256: weights.and_then(|w| sha256_file(&w).ok()),
        multilingual,
        languages,
        install,
        problem,
        default: dir == default,
    }
}

pub fn models(config: &Config, command: ModelsCommand) -> anyhow::Result<()> {
    let ModelsCommand::List { json } = command;
    let default = config.model_dir();
    let root = config.data_dir.join("models");
    // The models scripts/models.sh installs, installed or not, then any other folder.
    let mut reports: Vec<ModelReport> = LocalModel::ALL
        .iter()
        .map(|&m| {
            report(
                m.name().to_owned(),
                &config.local_model_dir(m),
                &default,
                Some(install_command(config, m)),
            )
        })
        .collect();
    let mut others: Vec<PathBuf> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.filter_map(Result::ok) {
            if e.path().is_dir() && !e.file_name().to_string_lossy().ends_with(".partial") {
                others.push(e.path());
            }
        }
    }
    if default.is_dir() {
        others.push(default.clone());
    }
    others.sort();
    others.dedup();
    for dir in others {
        if reports.iter().any(|r| r.path == dir) {
            continue;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        reports.push(report(name, &dir, &default, None));
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "models": reports }))?
        );
        return Ok(());
    }
    for r in &reports {
        let mark = if r.default { " (default)" } else { "" };
        println!("{}{mark}", r.name);
        if !r.installed {
            println!("  not installed: {}", r.path.display());
            if let Some(cmd) = &r.install {
                println!("  install `{cmd}`");
            }
            continue;
        }
        println!("  path    {}", r.path.display());
        match (&r.format, &r.problem) {
            (Some(f), _) => println!(
                "  format  {}{}",
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                match (r.multilingual, r.languages) {
                    (Some(true), Some(n)) => format!(
                        ", multilingual ({n} languages; transcribe or translate to English)"
                    ),
                    _ => ", English only".to_owned(),
                }
            ),
            (None, Some(p)) => println!("  problem {p}"),
            (None, None) => {}
        }
        println!("  size    {:.1} MB", r.bytes as f64 / 1e6);
        if let Some(sum) = &r.weights_sha256 {
            println!("  sha256  {sum}");
        }
    }
    if !reports.iter().any(|r| r.installed && r.problem.is_none()) {
        eprintln!(
            "no model is installed under {}: install one with `{}`",
            root.display(),
            install_command(config, config.transcription.model)
        );
    }
    Ok(())
}
