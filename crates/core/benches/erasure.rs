//! What erasing an account costs (`DELETE /api/v1/me` through the service): an account with
//! `BENCH_MEETINGS` meetings (default 1,000), each with 500 transcript segments and a recording,
//! erased with a certificate per meeting and one for the account (it is the org's last member,
//! so the org goes too), on SQLite with filesystem blobs. The peer, in the same run on an equal
//! data set: the same rows deleted by one cascading `DELETE` and the blob directory removed —
//! what erasure would cost with no crypto-shredding, audit entries, checkpoints or certificates.
//!
//! Run through `bench/erasure.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use meetvault_config::Config;
use meetvault_core::Core;
use meetvault_core::access::RequestMeta;
use meetvault_core::access::proof::MeetingsWrite;
use meetvault_core::auth::RegisterRequest;
use meetvault_core::meetings::{NewMeeting, NewSegment, UploadOptions};

const SEGMENTS: usize = 500;
const PASSWORD: &str = "kq8#vLm2pX9z-Tq4w";

/// One second of 16 kHz mono silence as WAV.
fn wav() -> Vec<u8> {
    let data = vec![0u8; 32_000];
    let mut w = Vec::with_capacity(44 + data.len());
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&16_000u32.to_le_bytes());
    w.extend_from_slice(&32_000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(data.len() as u32).to_le_bytes());
    w.extend_from_slice(&data);
    w
}

/// A fresh core holding one account with `meetings` meetings; its session token.
async fn populated(
    dir: &std::path::Path,
    meetings: usize,
) -> Result<(Core, meetvault_core::access::Principal)> {
    let mut config = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    config.transcription.auto = false;
    config.rate_limit.attempts = 1_000_000;
    let core = Core::open(Arc::new(config))
        .await
        .context("opening the core")?;
    let outcome = core
        .identity()
        .register(RegisterRequest {
            email: "erase@example.com".into(),
            password: PASSWORD.into(),
            name: "Erase Me".into(),
            org_name: "Bench Org".into(),
            meta: RequestMeta::default(),
        })
        .await?;
    let principal = core
        .identity()
        .authenticate_session(outcome.token.expose(), RequestMeta::default())
        .await?;
    let scope = principal
        .authorize::<MeetingsWrite>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let segments: Vec<NewSegment> = (0..SEGMENTS)
        .map(|i| NewSegment {
            start_ms: i as i64 * 3600,
            end_ms: i as i64 * 3600 + 3400,
            speaker: format!("Speaker {}", i % 4),
            text: "so the plan for next quarter is to ship the recorder first, agreed?".into(),
        })
        .collect();
    let audio = Bytes::from(wav());
    let started = Instant::now();
    for i in 0..meetings {
        let m = core
            .meetings()
            .create(
                &scope,
                &NewMeeting {
                    title: format!("Meeting {i}"),
                    ..NewMeeting::default()
                },
            )
            .await?;
        core.transcripts()
            .add_segments(&scope, m.id, &segments)
            .await?;
        let body = futures::stream::iter([Ok::<_, std::io::Error>(audio.clone())]);
        core.recordings()
            .put(
                &scope,
                m.id,
                &UploadOptions {
                    content_type: Some("audio/wav".into()),
                    transcribe: Some(false),
                    ..UploadOptions::default()
                },
                body,
            )
            .await?;
        if (i + 1) % 100 == 0 {
            eprintln!(
                "  {} meetings written ({:.0} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok((core, principal))
}

fn rate(n: f64, d: Duration) -> f64 {
    n / d.as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<()> {
    let meetings = match std::env::var("BENCH_MEETINGS") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("BENCH_MEETINGS must be a positive integer, not `{v}`"))?,
        Err(_) => 1000,
    };
    println!();
    println!(
        "account erasure, {meetings} meetings x ({SEGMENTS} segments + 1 recording), SQLite + files, {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );

    eprintln!("writing the account to erase...");
    let dir = tempfile::tempdir()?;
    let (core, principal) = populated(dir.path(), meetings).await?;
    let own = principal
        .own_account()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let start = Instant::now();
    let cert = core.identity().erase_account(&own, PASSWORD).await?;
    let took = start.elapsed();
    anyhow::ensure!(cert.checks.ok(), "the account's certificate verifies");
    let includes = cert.envelope.certificate["includes"]
        .as_array()
        .map_or(0, Vec::len);
    anyhow::ensure!(includes == meetings, "one certificate per meeting");
    core.close().await;

    eprintln!("writing the peer's equal data set...");
    let peer_dir = tempfile::tempdir()?;
    let (peer, principal) = populated(peer_dir.path(), meetings).await?;
    let org = principal.org_id().uuid();
    let start = Instant::now();
    peer.db_for_tests().delete_org(org).await?;
    std::fs::remove_dir_all(peer_dir.path().join("data/blobs")).ok();
    let peer_took = start.elapsed();
    peer.close().await;

    let rows = (meetings * (SEGMENTS + 2)) as f64;
    println!(
        "  meetvault: {:>8.2} s  {:>9.0} rows/s  {:>7.0} objects/s  {:>7.1} certificates/s",
        took.as_secs_f64(),
        rate(rows, took),
        rate(meetings as f64, took),
        rate((meetings + 1) as f64, took)
    );
    println!(
        "  peer (one cascading DELETE, blob directory removed): {:>8.2} s  {:>9.0} rows/s",
        peer_took.as_secs_f64(),
        rate(rows, peer_took)
    );
    println!(
        "  ratio {:.1}x the peer; {:.2} ms per meeting",
        took.as_secs_f64() / peer_took.as_secs_f64(),
        took.as_secs_f64() * 1e3 / meetings as f64
    );
    Ok(())
}
