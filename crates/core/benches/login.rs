//! Login latency with the real (OWASP) Argon2id parameters: a wrong password for an existing
//! account against an unknown email, which must cost the same — the unknown path verifies
//! against a dummy hash — and a correct login for reference. `BENCH_ITERS` sets the count
//! (default 20). Run through `bench/login.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use meetvault_config::Config;
use meetvault_core::access::RequestMeta;
use meetvault_core::auth::{LoginRequest, RegisterRequest};
use meetvault_core::{Core, CoreError};

const EMAIL: &str = "bench@example.com";
const UNKNOWN_EMAIL: &str = "nobody@example.com";
const PASSWORD: &str = "kq8#vLm2pX9z-Tq4w";
const WRONG_PASSWORD: &str = "kq8#vLm2pX9z-Zr7y";

#[tokio::main]
async fn main() -> Result<()> {
    let iters = match std::env::var("BENCH_ITERS") {
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .with_context(|| format!("BENCH_ITERS must be a positive integer, not `{v}`"))?,
        Err(_) => 20,
    };
    if iters == 0 {
        bail!("BENCH_ITERS must be at least 1");
    }

    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    // Every attempt here would otherwise count against the same account bucket.
    config.rate_limit.attempts = 1_000_000;
    let core = Core::open(Arc::new(config))
        .await
        .context("opening the core")?;
    let params = core.hasher().params();

    core.identity()
        .register(RegisterRequest {
            email: EMAIL.to_owned(),
            password: PASSWORD.to_owned(),
            name: "Bench User".to_owned(),
            org_name: "Bench Org".to_owned(),
            meta: RequestMeta::default(),
        })
        .await
        .context("registering the bench user")?;

    // One unmeasured round of each warms the pool, the page cache and the allocator.
    failed_login(&core, EMAIL, WRONG_PASSWORD).await?;
    failed_login(&core, UNKNOWN_EMAIL, PASSWORD).await?;
    login(&core, EMAIL, PASSWORD).await?;

    let dummy_before = core.hasher().dummy_verifications();
    let mut wrong = Vec::with_capacity(iters);
    let mut unknown = Vec::with_capacity(iters);
    let mut correct = Vec::with_capacity(iters);
    // Interleaved, so drift (thermal, other load) hits all three alike.
    for _ in 0..iters {
        wrong.push(failed_login(&core, EMAIL, WRONG_PASSWORD).await?);
        unknown.push(failed_login(&core, UNKNOWN_EMAIL, PASSWORD).await?);
        correct.push(login(&core, EMAIL, PASSWORD).await?);
    }
    let dummy = core.hasher().dummy_verifications() - dummy_before;
    core.close().await;

    let (wrong, unknown, correct) = (Stats::of(wrong), Stats::of(unknown), Stats::of(correct));
    println!();
    println!(
        "login latency, {iters} iterations each, Argon2id m={} KiB t={} p={}, SQLite, {} CPUs",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    println!(
        "{:<32} {:>10} {:>10} {:>10}",
        "case", "mean ms", "median ms", "p95 ms"
    );
    for (name, s) in [
        ("wrong password, existing email", &wrong),
        ("unknown email", &unknown),
        ("correct password (reference)", &correct),
    ] {
        println!(
            "{name:<32} {:>10.2} {:>10.2} {:>10.2}",
            s.mean, s.median, s.p95
        );
    }
    println!(
        "unknown / wrong: mean {:.3}, median {:.3}",
        unknown.mean / wrong.mean,
        unknown.median / wrong.median
    );
    println!(
        "dummy Argon2id verifications during the measured unknown-email logins: {dummy} of {iters}"
    );
    if dummy != iters as u64 {
        bail!("expected one dummy verification per unknown-email login, saw {dummy} for {iters}");
    }
    Ok(())
}

/// A login that must fail as invalid credentials; its duration.
async fn failed_login(core: &Core, email: &str, password: &str) -> Result<Duration> {
    let start = Instant::now();
    let outcome = core.identity().login(request(email, password)).await;
    let elapsed = start.elapsed();
    match outcome {
        Err(CoreError::InvalidCredentials) => Ok(elapsed),
        Err(e) => Err(e)
            .with_context(|| format!("login as {email} failed, but not as invalid credentials")),
        Ok(_) => bail!("login as {email} with a wrong password succeeded"),
    }
}

/// A login that must succeed; its duration.
async fn login(core: &Core, email: &str, password: &str) -> Result<Duration> {
    let start = Instant::now();
    core.identity()
        .login(request(email, password))
        .await
        .with_context(|| format!("correct login as {email}"))?;
    Ok(start.elapsed())
}

fn request(email: &str, password: &str) -> LoginRequest {
    LoginRequest {
        email: email.to_owned(),
        password: password.to_owned(),
        totp_code: None,
        recovery_code: None,
        device: None,
        meta: RequestMeta::default(),
    }
}

/// Mean, median and 95th percentile (nearest rank), in milliseconds.
struct Stats {
    mean: f64,
    median: f64,
    p95: f64,
}

impl Stats {
    fn of(samples: Vec<Duration>) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let at = |rank: usize| {
            ms.get(rank.clamp(1, n.max(1)) - 1)
                .copied()
                .unwrap_or(f64::NAN)
        };
        let median = if n.is_multiple_of(2) {
            (at(n / 2) + at(n / 2 + 1)) / 2.0
        } else {
            at(n / 2 + 1)
        };
        Self {
            mean: ms.iter().sum::<f64>() / n.max(1) as f64,
            median,
            p95: at((n * 95).div_ceil(100)),
        }
    }
}
