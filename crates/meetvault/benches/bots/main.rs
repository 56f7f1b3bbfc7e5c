//! N concurrent meeting bots in N testmeet rooms, two people speaking in each: per N, the audio
//! the bots lost, how long from admission to a bot's first stored audio, the CPU and PSS of each
//! bot's whole process tree (`meetvault bot run` and its Chromium), live-segment latency, and
//! the largest N that lost < 0.1 %. Run through `bench/bots.sh`; not a test.
//!
//! Nothing is stood in: testmeet and a meetvault server (SQLite and blobs in a temp dir) on
//! 127.0.0.1, the server's orchestrator starting real `meetvault bot run` processes (this
//! build's binary), and every Chromium — the speakers', each looping an espeak-ng voice, and
//! the bots' own — in one private network namespace.

mod live;
mod procs;
mod room;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use meetvault_core::ids::{BotId, OrgId};
use meetvault_test_support::browser::Netns;
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::live::LiveWatch;
use crate::procs::Sampler;
use crate::room::Room;

/// What the bots are called in their rooms.
const BOT: &str = "Bench Notetaker";
/// How long a bot may take to reach a state (Chromium starts and joins on two busy cores).
const LIMIT: Duration = Duration::from_secs(180);
/// How long a recording bot may take to send both speakers' audio before the window starts.
const SETTLE: Duration = Duration::from_secs(30);
/// Loss at or above this fails the spec's target.
const LOSS_TARGET: f64 = 0.1;

#[derive(Debug, Parser)]
#[command(about = "N concurrent meeting bots in N testmeet rooms: loss, latency, CPU, PSS")]
struct Args {
    /// The numbers of concurrent bots to measure, in order (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4")]
    bots: Vec<usize>,
    /// Seconds of recording measured per round (after every bot records).
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// Transcribe (the local Whisper tiny.en), so live segments can be timed if the server
    /// sends them; off, the bots only capture.
    #[arg(long)]
    transcribe: bool,
    /// With --transcribe: how the engine computes (`f32`, the server's default, or `int8`).
    #[arg(long, default_value = "f32", value_parser = ["f32", "int8"])]
    compute_type: String,
    /// Keep the work directory (the bots' logs, the speakers' WAVs) and print where it is.
    #[arg(long)]
    keep: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What one bot measured.
#[derive(Debug)]
struct BotResult {
    id: String,
    /// Per track, percent lost (the bot's own count: expected from the frames' timestamps,
    /// against received).
    loss: Vec<f64>,
    join_to_audio: Option<f64>,
    cores: f64,
    pss_mean: f64,
    pss_max: f64,
    processes: usize,
    live: Vec<f64>,
}

/// One round's line of the table.
#[derive(Debug)]
struct Row {
    n: usize,
    bots: Vec<BotResult>,
    machine_cores: Option<f64>,
    /// All the speakers' Chromiums together.
    speaker_cores: Option<f64>,
}

impl Row {
    fn tracks(&self) -> usize {
        self.bots.iter().map(|b| b.loss.len()).sum()
    }
    fn all_tracks(&self) -> bool {
        self.bots.iter().all(|b| b.loss.len() >= 2)
    }
    fn worst_loss(&self) -> f64 {
        self.bots
            .iter()
            .flat_map(|b| b.loss.iter().copied())
            .fold(0.0, f64::max)
    }
    fn mean_loss(&self) -> f64 {
        mean(self.bots.iter().flat_map(|b| b.loss.iter().copied()))
    }
    /// Under the target on every track, and every speaker's track was captured.
    fn meets_loss_target(&self) -> bool {
        self.all_tracks() && self.worst_loss() < LOSS_TARGET
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.bots.is_empty() || args.bots.contains(&0) {
        bail!("--bots takes positive numbers (e.g. --bots 1,2,3,4)");
    }
    if args.secs < 5 {
        bail!("--secs must be at least 5");
    }
    let hz = procs::clock_ticks()?;
    let work = tempfile::tempdir().context("creating the bench's temp dir")?;
    let most = args.bots.iter().copied().max().unwrap_or(1);
    eprintln!("bench: speaking {} voices with espeak-ng", 2 * most);
    let wavs = room::voices(work.path(), 2 * most)?;
    let model = args
        .transcribe
        .then(meetvault_test_support::media::whisper_model_dir);

    let testmeet = meetvault_testmeet::Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("binding testmeet")?;
    let testmeet_addr = testmeet.local_addr()?;
    tokio::spawn(testmeet.run(std::future::pending()));
    let netns = Netns::new(&[testmeet_addr]).await;

    let mut rows = Vec::new();
    for &n in &args.bots {
        eprintln!("bench: {n} bot(s), {} s of recording", args.secs);
        let dir = work.path().join(format!("round-{n}"));
        std::fs::create_dir_all(&dir)?;
        let setup = Round {
            n,
            secs: args.secs,
            hz,
            dir: &dir,
            testmeet: testmeet_addr,
            netns: &netns,
            wavs: &wavs,
            model: model.clone(),
            int8: args.compute_type == "int8",
        };
        let row = setup.run().await?;
        for b in &row.bots {
            eprintln!(
                "bench:   {} loss {:?} join→audio {:?} s, {:.3} cores, PSS {:.0} MiB (max {:.0}), \
                 {} processes, live {}",
                b.id,
                b.loss,
                b.join_to_audio,
                b.cores,
                b.pss_mean,
                b.pss_max,
                b.processes,
                live::summary(&b.live)
            );
        }
        rows.push(row);
    }
    print_table(&rows, args.secs);
    if args.keep {
        eprintln!(
            "bench: the work directory is kept: {}",
            work.keep().display()
        );
    }
    Ok(())
}

/// One round: N rooms, N bots, one fresh server.
struct Round<'a> {
    n: usize,
    secs: u64,
    hz: f64,
    dir: &'a Path,
    testmeet: SocketAddr,
    netns: &'a Netns,
    wavs: &'a [PathBuf],
    model: Option<PathBuf>,
    /// Whether the engine computes in int8.
    int8: bool,
}

/// A bot sent to a room.
struct Sent {
    id: String,
    meeting: String,
    room: usize,
}

impl Round<'_> {
    async fn run(&self) -> Result<Row> {
        let logs = self.dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let program = bot_wrapper(self.dir, &logs)?;
        let prefix = self.netns.enter_prefix();
        let origin: reqwest::Url = format!("http://{}", self.testmeet).parse()?;
        let app = TestApp::spawn_with(|c| {
            c.bot.launcher = meetvault_config::BotLauncher::Local;
            c.bot.executable = Some(program);
            c.bot.browser_command_prefix = prefix;
            c.bot.test_platform_origins = vec![origin];
            c.bot.max_concurrent = u32::try_from(self.n).unwrap_or(u32::MAX);
            c.bot.poll_interval_ms = 200;
            if let Some(model) = &self.model {
                c.transcription.auto = true;
                c.transcription.model_dir = Some(model.clone());
                if self.int8 {
                    c.transcription.compute_type = meetvault_config::ComputeType::Int8;
                }
            }
        })
        .await;
        let owner = app.register("bench@example.com", "Bench").await;
        let cred = Cred::Session(owner.clone());

        let mut rooms = Vec::new();
        for i in 0..self.n {
            let wavs = (self.wavs[2 * i].as_path(), self.wavs[2 * i + 1].as_path());
            rooms.push(Room::open(self.testmeet, self.netns, i, wavs).await?);
        }
        eprintln!("bench:   {} room(s) with two speakers each", self.n);

        let mut sent = Vec::new();
        for (i, room) in rooms.iter().enumerate() {
            let r = app
                .send(
                    &cred,
                    Method::POST,
                    "/api/v1/bots",
                    Some(json!({"meeting_url": room.url, "bot_name": BOT})),
                )
                .await;
            let status = r.status();
            let bot: Value = r.json().await?;
            if !status.is_success() {
                bail!("POST /api/v1/bots answered {status}: {bot}");
            }
            sent.push(Sent {
                id: bot["id"].as_str().context("the bot's id")?.to_owned(),
                meeting: bot["meeting_id"]
                    .as_str()
                    .context("its meeting")?
                    .to_owned(),
                room: i,
            });
        }
        let watches: Vec<LiveWatch> = sent
            .iter()
            .map(|s| {
                LiveWatch::start(
                    app.client.clone(),
                    app.url(&format!("/api/v1/meetings/{}/events", s.meeting)),
                    owner.cookie.clone(),
                )
            })
            .collect();

        // Each bot waits in its lobby, is let in, and records every speaker's track.
        let admitted = sent.iter().map(|s| async {
            wait_for_bot(&app, &cred, &s.id, "reached the waiting room", |b| {
                b["state"] == "waiting_room"
            })
            .await?;
            rooms[s.room].admit(BOT).await;
            wait_for_bot(&app, &cred, &s.id, "started recording", |b| {
                b["state"] == "recording"
            })
            .await?;
            audio_flowing(&app, &owner, s).await
        });
        for outcome in futures::future::join_all(admitted).await {
            outcome?;
        }
        let mut roots = Vec::new();
        for s in &sent {
            roots.push(procs::bot_process(&s.id).with_context(|| {
                format!(
                    "no `meetvault bot run` process for {} while it records",
                    s.id
                )
            })?);
        }
        eprintln!(
            "bench:   every bot records; measuring {} s (pids {roots:?})",
            self.secs
        );

        // The speakers' trees after the bots' own: measured for context, not per bot.
        let speakers = procs::speaker_roots();
        let mut all = roots.clone();
        all.extend(&speakers);
        let mut sampler = Sampler::new(&all);
        sampler.sample(true);
        let start = Instant::now();
        let mut tick = 0u64;
        while start.elapsed() < Duration::from_secs(self.secs) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tick += 1;
            sampler.sample(tick.is_multiple_of(5));
        }
        let window = sampler.secs();
        let machine_cores = sampler.machine_busy_cores();
        let speaker_cores: f64 = sampler.trees[roots.len()..]
            .iter()
            .map(|t| t.cores(window, self.hz))
            .sum();

        for s in &sent {
            let r = app
                .send(
                    &cred,
                    Method::POST,
                    &format!("/api/v1/bots/{}/leave", s.id),
                    None,
                )
                .await;
            if !r.status().is_success() {
                bail!("leave {} answered {}", s.id, r.status());
            }
        }
        let mut bots = Vec::new();
        for ((s, meter), watch) in sent.iter().zip(&sampler.trees).zip(watches) {
            let ended = wait_for_bot(&app, &cred, &s.id, "ended", |b| {
                matches!(b["state"].as_str(), Some("ended" | "fatal_error"))
            })
            .await?;
            if ended["state"] != "ended" {
                eprintln!(
                    "bench:   {} ended as {} / {}",
                    s.id, ended["state"], ended["sub_code"]
                );
            }
            let (pss_mean, pss_max) = meter.pss_mib();
            bots.push(BotResult {
                id: s.id.clone(),
                loss: bot_loss(&logs.join(format!("{}.log", s.id))).await?,
                join_to_audio: join_to_audio(&app, &owner, &ended).await?,
                cores: meter.cores(window, self.hz),
                pss_mean,
                pss_max,
                processes: meter.processes(),
                live: watch.finish(
                    ended["audio_started_at"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.timestamp_millis()),
                ),
            });
        }
        drop(rooms);
        if let Err(e) = app.shutdown().await {
            eprintln!("bench:   the server's shutdown reported: {e}");
        }
        Ok(Row {
            n: self.n,
            bots,
            machine_cores,
            speaker_cores: (!speakers.is_empty()).then_some(speaker_cores),
        })
    }
}

/// A program the orchestrator starts in place of `meetvault`: it runs this build's binary
/// with the same arguments (same pid, through `exec`), its stderr — the bot's JSON log — in
/// `logs/BOT_ID.log`.
fn bot_wrapper(dir: &Path, logs: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("bot.sh");
    let script = format!(
        "#!/bin/sh\nid=unknown; prev=\nfor a in \"$@\"; do [ \"$prev\" = --bot-id ] && id=$a; prev=$a; done\n\
         exec '{bin}' \"$@\" 2>>'{logs}/'\"$id\".log\n",
        bin = env!("CARGO_BIN_EXE_meetvault"),
        logs = logs.display(),
    );
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// Polls the bot until `pred` holds; an error after [`LIMIT`] or when it failed.
async fn wait_for_bot(
    app: &TestApp,
    cred: &Cred,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let start = Instant::now();
    loop {
        let r = app
            .send(cred, Method::GET, &format!("/api/v1/bots/{id}"), None)
            .await;
        let bot: Value = r.json().await?;
        if pred(&bot) {
            return Ok(bot);
        }
        if bot["state"] == "fatal_error" {
            bail!("bot {id} failed before it {what}: {bot:#}");
        }
        if start.elapsed() > LIMIT {
            bail!("bot {id} never {what} in {LIMIT:?}: {bot:#}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits (up to [`SETTLE`]) until the server has stored audio of two tracks (both speakers)
/// from the bot, so the window measures steady capture; says so and goes on if it never does
/// (the bots' per-track loss, read from their own logs, still tells what they captured).
async fn audio_flowing(app: &TestApp, owner: &Session, bot: &Sent) -> Result<()> {
    let org: OrgId = owner.org_id.parse()?;
    let id: BotId = bot.id.parse()?;
    let start = Instant::now();
    loop {
        let chunks = app.db().audio_chunks(org.uuid(), id.uuid()).await?;
        let tracks: std::collections::BTreeSet<&str> =
            chunks.iter().map(|c| c.track.as_str()).collect();
        if tracks.len() >= 2 {
            return Ok(());
        }
        if start.elapsed() > SETTLE {
            eprintln!(
                "bench:   {}: audio of {} track(s) stored after {SETTLE:?}, not 2; measuring anyway",
                bot.id,
                tracks.len()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Per-track loss, in percent, from the bot's last log line (`"the bot ended"`, whose `loss`
/// lists `TRACK: P%`), waiting for the bot to write it.
async fn bot_loss(log: &Path) -> Result<Vec<f64>> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let ended = text.lines().rev().find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            (v["message"] == "the bot ended").then_some(v)
        });
        if let Some(line) = ended {
            // A list of "TRACK: P%" (or its Debug text, should the log format change).
            let entries: Vec<String> = match &line["loss"] {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                Value::String(text) => text.split(',').map(str::to_owned).collect(),
                _ => Vec::new(),
            };
            return Ok(entries
                .iter()
                .filter_map(|e| {
                    let (_, percent) = e.rsplit_once(": ")?;
                    percent.trim_end_matches(['%', '"', ']', ' ']).parse().ok()
                })
                .collect());
        }
        if start.elapsed() > LIMIT {
            bail!(
                "the bot never logged its end in {}: {}",
                log.display(),
                text.lines().rev().take(5).collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Seconds from the bot's admission (`joined` in its timeline) to its first audio chunk
/// stored by the server.
async fn join_to_audio(app: &TestApp, owner: &Session, bot: &Value) -> Result<Option<f64>> {
    let Some(joined) = bot["transitions"].as_array().and_then(|ts| {
        ts.iter()
            .find(|t| t["to"] == "joined")
            .and_then(|t| t["at"].as_str())
    }) else {
        return Ok(None);
    };
    let joined_ms = chrono::DateTime::parse_from_rfc3339(joined)?.timestamp_millis();
    let org: OrgId = owner.org_id.parse()?;
    let id: BotId = bot["id"].as_str().context("the bot's id")?.parse()?;
    let chunks = app.db().audio_chunks(org.uuid(), id.uuid()).await?;
    Ok(chunks
        .iter()
        .map(|c| c.created_at)
        .min()
        .map(|first| (first - joined_ms) as f64 / 1000.0))
}

fn print_table(rows: &[Row], secs: u64) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                Some(
                    l.strip_prefix("model name")?
                        .trim_start_matches([' ', '\t', ':'])
                        .to_owned(),
                )
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!();
    println!("{cores} cores ({model}), {secs} s of recording per round, two speakers per room");
    println!(
        "{:>2}  {:>6}  {:>15}  {:>10}  {:>13}  {:>11}  {:>15}  {:>12}  {:>14}  live-segment latency",
        "N",
        "tracks",
        "lost % mean/max",
        "join→audio",
        "CPU cores/bot",
        "PSS MiB/bot",
        "PSS max MiB/bot",
        "machine busy",
        "speakers' CPU",
    );
    for row in rows {
        let bots = row.bots.len().max(1) as f64;
        let join = mean(row.bots.iter().filter_map(|b| b.join_to_audio));
        let live: Vec<f64> = row.bots.iter().flat_map(|b| b.live.clone()).collect();
        println!(
            "{:>2}  {:>6}  {:>15}  {:>10}  {:>13.3}  {:>11.0}  {:>15.0}  {:>12}  {:>14}  {}",
            row.n,
            format!("{}/{}", row.tracks(), 2 * row.n),
            format!("{:.3} / {:.3}", row.mean_loss(), row.worst_loss()),
            format!("{join:.1} s"),
            row.bots.iter().map(|b| b.cores).sum::<f64>() / bots,
            row.bots.iter().map(|b| b.pss_mean).sum::<f64>() / bots,
            row.bots.iter().map(|b| b.pss_max).fold(0.0, f64::max),
            row.machine_cores
                .map_or("?".into(), |c| format!("{c:.2} cores")),
            row.speaker_cores
                .map_or("?".into(), |c| format!("{c:.2} cores")),
            live::summary(&live),
        );
    }
    let best = rows
        .iter()
        .filter(|r| r.meets_loss_target())
        .map(|r| r.n)
        .max();
    match best {
        Some(n) => println!("largest N with < {LOSS_TARGET}% loss on every track: {n}"),
        None => println!("largest N with < {LOSS_TARGET}% loss on every track: none"),
    }
    println!("target per bot (audio-only capture): <= 0.15 core, <= 350 MiB PSS");
}
