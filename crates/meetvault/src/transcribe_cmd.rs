//! `meetvault transcribe FILE…` (no server needed: decode, run local Whisper, print or write
//! the transcript; several files are one track each, labelled by file name and merged by
//! time) and `meetvault models list` (installed models, their sizes and checksums).

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use meetvault_config::Config;
use meetvault_stt::{ExportFormat, ExportMeta, TrackTranscript};
use sha2::Digest as _;

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Audio files (WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis, Ogg/WebM Opus). Several files are one
    /// track each (one speaker per file, named after the file), merged by time.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The model folder (faster-whisper/CTranslate2 or Hugging Face); default:
    /// `transcription.model_dir` (DATA_DIR/models/whisper-tiny.en).
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// The spoken language (`en`); detected by multilingual models when absent.
    #[arg(long, value_name = "CODE")]
    language: Option<String>,
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
    /// The installed models: name, format, size and SHA-256 of the weights.
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
    let dir = args.model.clone().unwrap_or_else(|| config.model_dir());
    let compute = match args.compute_type {
        Some(ComputeTypeArg::F32) => meetvault_config::ComputeType::F32,
        Some(ComputeTypeArg::Int8) => meetvault_config::ComputeType::Int8,
        None => config.transcription.compute_type,
    };
    let precision = meetvault_core::transcription::precision(compute);
    let model = meetvault_whisper::Model::load_with_precision(&dir, precision).with_context(|| {
        format!(
            "loading the model from {} (install the default one with `scripts/models.sh`, or pass --model DIR)",
            dir.display()
        )
    })?;
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
        meetvault_stt::export(format, &meta, &segments)
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

#[derive(Debug, serde::Serialize)]
struct ModelReport {
    name: String,
    path: PathBuf,
    format: Option<meetvault_whisper::ModelFormat>,
    bytes: u64,
    weights_sha256: Option<String>,
    multilingual: Option<bool>,
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

fn report(dir: &Path, default: &Path) -> ModelReport {
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
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let weights = ["model.bin", "model.safetensors"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let (format, multilingual, problem) = match meetvault_whisper::inspect(dir) {
        Ok(info) => (Some(info.format), Some(info.multilingual), None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    ModelReport {
        name,
        path: dir.to_path_buf(),
        format,
        bytes,
        weights_sha256: weights.and_then(|w| sha256_file(&w).ok()),
        multilingual,
        problem,
        default: dir == default,
    }
}

pub fn models(config: &Config, command: ModelsCommand) -> anyhow::Result<()> {
    let ModelsCommand::List { json } = command;
    let default = config.model_dir();
    let mut dirs: Vec<PathBuf> = Vec::new();
    let root = config.data_dir.join("models");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.filter_map(Result::ok) {
            if e.path().is_dir() && !e.file_name().to_string_lossy().ends_with(".partial") {
                dirs.push(e.path());
            }
        }
    }
    if default.is_dir() && !dirs.contains(&default) {
        dirs.push(default.clone());
    }
    dirs.sort();
    let reports: Vec<ModelReport> = dirs.iter().map(|d| report(d, &default)).collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "models": reports }))?
        );
        return Ok(());
    }
    if reports.is_empty() {
        bail!(
            "no model installed under {} (the default is {}): install one with `scripts/models.sh {}`",
            root.display(),
            default.display(),
            root.display()
        );
    }
    for r in &reports {
        let mark = if r.default { " (default)" } else { "" };
        println!("{}{mark}", r.name);
        println!("  path    {}", r.path.display());
        match (&r.format, &r.problem) {
            (Some(f), _) => println!(
                "  format  {}{}",
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                if r.multilingual == Some(true) {
                    ", multilingual"
                } else {
                    ", English-only"
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
    Ok(())
}
