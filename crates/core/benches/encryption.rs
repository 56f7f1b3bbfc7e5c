//! What encryption at rest costs, measured against a peer in the same run:
//! - blobs: STREAM encryption and decryption throughput (MB/s) of a 64 MiB recording in memory,
//!   beside a plain copy of the same bytes;
//! - fields: reading a 2-hour transcript (2,000 segments, speaker and text each encrypted) through
//!   the service, beside the same rows read from the database without decrypting.
//!
//! `BENCH_ITERS` sets the repetitions (default 20). Run through `bench/encryption.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use meetvault_config::Config;
use meetvault_core::Core;
use meetvault_core::access::RequestMeta;
use meetvault_core::access::proof::{MeetingsRead, MeetingsWrite};
use meetvault_core::auth::RegisterRequest;
use meetvault_core::meetings::{NewMeeting, NewSegment};
use meetvault_crypto::envelope::{Binding, KeyRef};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_crypto::stream::{StreamDecryptor, StreamEncryptor};

const BLOB_BYTES: usize = 64 << 20;
const SEGMENTS: usize = 2000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn blob_bench(iters: usize) -> Result<()> {
    let plain: Vec<u8> = (0..BLOB_BYTES).map(|i| (i % 251) as u8).collect();
    let key = SymmetricKey::generate();
    let kref = KeyRef {
        id: [1; 16],
        version: 1,
    };
    let binding = Binding {
        org: [2; 16],
        table: "recordings",
        row: [3; 16],
        field: "blob",
    };
    let (mut enc_t, mut dec_t, mut copy_t) = (Vec::new(), Vec::new(), Vec::new());
    let mut sealed = Vec::new();
    for _ in 0..iters.clamp(3, 10) {
        let start = Instant::now();
        let copy = plain.to_vec();
        copy_t.push(start.elapsed());
        std::hint::black_box(copy);

        let start = Instant::now();
        let (mut enc, header) = StreamEncryptor::new(&key, kref, &binding);
        let mut out = Vec::with_capacity(BLOB_BYTES + BLOB_BYTES / 4096 + 64);
        out.extend_from_slice(&header);
        for chunk in plain.chunks(1 << 20) {
            enc.update(chunk, &mut out)?;
        }
        enc.finish(&mut out)?;
        enc_t.push(start.elapsed());
        sealed = out;

        let start = Instant::now();
        let mut dec = StreamDecryptor::new(&key, &binding, &sealed)?;
        let mut back = Vec::with_capacity(BLOB_BYTES);
        for chunk in sealed[meetvault_crypto::stream::HEADER_LEN..].chunks(1 << 20) {
            dec.update(chunk, &mut back)?;
        }
        dec.finish(&mut back)?;
        dec_t.push(start.elapsed());
        anyhow::ensure!(back == plain, "round trip");
    }
    let mbs = |d: Duration| BLOB_BYTES as f64 / 1e6 / d.as_secs_f64();
    let (enc, dec, copy) = (median(enc_t), median(dec_t), median(copy_t));
    println!(
        "blob, {} MiB in 64 KiB segments (ChaCha20-Poly1305 STREAM, per-blob HKDF key):",
        BLOB_BYTES >> 20
    );
    println!("  encrypt  {:>8.0} MB/s", mbs(enc));
    println!("  decrypt  {:>8.0} MB/s", mbs(dec));
    println!(
        "  peer: plain copy {:>8.0} MB/s  (encrypt costs {:.1}x a copy)",
        mbs(copy),
        enc.as_secs_f64() / copy.as_secs_f64()
    );
    println!(
        "  ciphertext overhead {:.3}%",
        (sealed.len() - BLOB_BYTES) as f64 * 100.0 / BLOB_BYTES as f64
    );
    Ok(())
}

async fn field_bench(iters: usize) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let core = Core::open(Arc::new(config))
        .await
        .context("opening the core")?;
    let outcome = core
        .identity()
        .register(RegisterRequest {
            email: "bench@example.com".into(),
            password: "kq8#vLm2pX9z-Tq4w".into(),
            name: "Bench".into(),
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
    let reader = principal
        .authorize::<MeetingsRead>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let meeting = core
        .meetings()
        .create(
            &scope,
            &NewMeeting {
                title: "Quarterly planning".into(),
                ..NewMeeting::default()
            },
        )
        .await?;
    let segments: Vec<NewSegment> = (0..SEGMENTS)
        .map(|i| NewSegment {
            start_ms: i as i64 * 3600,
            end_ms: i as i64 * 3600 + 3400,
            speaker: format!("Speaker {}", i % 4),
            text: "so the plan for next quarter is to ship the recorder first and then the summaries, agreed?".into(),
        })
        .collect();
    core.transcripts()
        .add_segments(&scope, meeting.id, &segments)
        .await?;
    let (org, id) = (scope.org_id().uuid(), meeting.id.uuid());
    // Warm the pool, page cache and key caches.
    core.transcripts().get(&reader, meeting.id).await?;
    core.db_for_tests().segments(org, id).await?;
    let (mut enc, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..iters {
        let start = Instant::now();
        let rows = core.db_for_tests().segments(org, id).await?;
        raw.push(start.elapsed());
        anyhow::ensure!(rows.len() == SEGMENTS);
        let start = Instant::now();
        let read = core.transcripts().get(&reader, meeting.id).await?;
        enc.push(start.elapsed());
        anyhow::ensure!(read.len() == SEGMENTS);
    }
    core.close().await;
    let (enc, raw) = (median(enc), median(raw));
    let fields = (SEGMENTS * 2) as f64;
    println!(
        "transcript read, {SEGMENTS} segments ({} encrypted fields), SQLite, median of {iters}:",
        SEGMENTS * 2
    );
    println!(
        "  decrypted through the service  {:>8.2} ms",
        enc.as_secs_f64() * 1e3
    );
    println!(
        "  peer: same rows, not decrypted {:>8.2} ms",
        raw.as_secs_f64() * 1e3
    );
    println!(
        "  ratio {:.2}x; added {:.2} µs per encrypted field",
        enc.as_secs_f64() / raw.as_secs_f64(),
        (enc.as_secs_f64() - raw.as_secs_f64()) * 1e6 / fields
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let iters = match std::env::var("BENCH_ITERS") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("BENCH_ITERS must be a positive integer, not `{v}`"))?,
        Err(_) => 20,
    };
    println!();
    println!(
        "encryption at rest, {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    blob_bench(iters)?;
    field_bench(iters).await?;
    Ok(())
}
