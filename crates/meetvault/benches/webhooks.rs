//! Webhook delivery, measured end to end: events made through the API, fanned out from the
//! outbox, signed and POSTed by the senders to a loopback receiver. Per endpoint count, the
//! deliveries per second of a burst (all deliveries / first event to last arrival) and the
//! event-to-delivery latency (arrival at the receiver minus the event time in the body), under
//! the burst and at a light, paced load; then the drain after an outage (the receiver answers
//! 503 while the deliveries queue up, then 200: time from recovery to the last arrival). Beside
//! each, the raw ceiling in the same run: a plain reqwest client POSTing the same signed bodies
//! to the same kind of receiver, each endpoint's in order, as many endpoints at once as the
//! server has senders. Also the CPU the process (app, receiver and bench together) kept busy
//! meanwhile: well under the two cores means the dispatcher waits rather than computes. Run
//! through `bench/webhooks.sh`; not a test.
//!
//! Nothing is stood in: the whole app in-process (`meetvault-test-support`'s `TestApp`, a fresh
//! database and blob store per round), its real dispatcher and outbound client, the receiver on
//! 127.0.0.1 reached through the operator allow-list.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use futures::StreamExt as _;
use meetvault_crypto::webhook::SigningSecret;
use meetvault_store::Database;
use meetvault_test_support::receiver::{Answer, Received, Receiver};
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Endpoints an org may register (`MAX_ENDPOINTS` in core): more take more orgs.
const PER_ORG: usize = 50;
/// Meetings created at once over the API in a burst.
const CREATE_CONCURRENCY: usize = 8;
/// The retry schedule of the drain round: an outage's end is noticed within about a second.
const DRAIN_RETRY_MS: u64 = 1000;
/// Requests the peer sends at least (the same bodies over again), for a steady rate.
const PEER_MIN: usize = 20_000;
/// How long a round may take to deliver everything.
const LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Parser)]
#[command(about = "Webhook delivery: throughput, event-to-delivery latency, drain after an outage")]
struct Args {
    /// Endpoint counts, one throughput round each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    endpoints: Vec<usize>,
    /// Events (meetings created) per round, one number per endpoint count; an event reaches
    /// the endpoints of its org (at most 50 per org), so 100 endpoints × 60 events is 3,000
    /// deliveries.
    #[arg(long, value_delimiter = ',', default_value = "500,200,60")]
    events: Vec<usize>,
    /// `webhooks.poll_ms` values; every round runs at each.
    #[arg(long, value_delimiter = ',', default_value = "500,50")]
    poll_ms: Vec<u64>,
    /// Events of the light, paced load (one every --paced-interval-ms) after each burst.
    #[arg(long, default_value_t = 20)]
    paced: usize,
    /// Milliseconds between the paced events.
    #[arg(long, default_value_t = 250)]
    paced_interval_ms: u64,
    /// Drain rounds, `ENDPOINTSxDELIVERIES` (deliveries queued per endpoint) each, at every
    /// poll_ms: 10x1000 and 100x100 both queue 10,000.
    #[arg(long, value_delimiter = ',', default_value = "10x1000,100x100", value_parser = shape)]
    drain: Vec<(usize, usize)>,
    /// Skip the drain rounds.
    #[arg(long)]
    no_drain: bool,
    /// Also print the results as JSON, after the tables.
    #[arg(long)]
    json: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.endpoints.is_empty() || args.endpoints.contains(&0) {
        bail!("--endpoints takes positive numbers (e.g. --endpoints 1,10,100)");
    }
    if args.events.len() != args.endpoints.len() || args.events.contains(&0) {
        bail!("--events takes one positive number per endpoint count");
    }
    if args.poll_ms.is_empty() || args.poll_ms.iter().any(|&p| p < 10) {
        bail!("--poll-ms takes values of at least 10");
    }
    let ticks = clock_ticks()?;
    let mut rounds = Vec::new();
    let mut drains = Vec::new();
    for &poll_ms in &args.poll_ms {
        for (&endpoints, &events) in args.endpoints.iter().zip(&args.events) {
            eprintln!("bench: poll_ms {poll_ms}, {endpoints} endpoint(s), {events} events");
            let round = throughput(poll_ms, endpoints, events, &args, ticks).await?;
            eprintln!("bench:   {}", round.summary());
            rounds.push(round);
        }
        for &(endpoints, per_endpoint) in &args.drain {
            if args.no_drain {
                break;
            }
            eprintln!(
                "bench: poll_ms {poll_ms}, drain of {endpoints} endpoints × {per_endpoint} deliveries"
            );
            let drain = drain(poll_ms, endpoints, per_endpoint, ticks).await?;
            eprintln!("bench:   {}", drain.summary());
            drains.push(drain);
        }
    }
    print_tables(&rounds, &drains);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "throughput": rounds.iter().map(Round::to_json).collect::<Vec<_>>(),
                "drain": drains.iter().map(Drain::to_json).collect::<Vec<_>>(),
            }))?
        );
    }
    Ok(())
}

/// `10x1000`: endpoints and deliveries per endpoint.
fn shape(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s
        .split_once(['x', '×'])
        .ok_or_else(|| format!("`{s}` is not ENDPOINTSxDELIVERIES (e.g. 10x1000)"))?;
    let a: usize = a.trim().parse().map_err(|e| format!("`{a}`: {e}"))?;
    let b: usize = b.trim().parse().map_err(|e| format!("`{b}`: {e}"))?;
    if a == 0 || b == 0 {
        return Err(format!("`{s}`: both numbers must be positive"));
    }
    Ok((a, b))
}

/// One org's account and endpoints.
struct Org {
    session: Session,
    /// (URL path, signing secret) per endpoint.
    endpoints: Vec<(String, String)>,
}

impl Org {
    fn cred(&self) -> Cred {
        Cred::Session(self.session.clone())
    }
}

/// A fresh app (its own database) that may reach the loopback receiver, and `endpoints`
/// endpoints on `receiver`, subscribed to `meeting.created`, in orgs of at most 50.
async fn setup(
    poll_ms: u64,
    retry_delays_ms: Option<Vec<u64>>,
    endpoints: usize,
    receiver: &Receiver,
) -> Result<(TestApp, Vec<Org>)> {
    let app = TestApp::spawn_with(|c| {
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.auth.open_registration = true;
        c.webhooks.poll_ms = poll_ms;
        if let Some(delays) = retry_delays_ms {
            c.webhooks.retry_delays_ms = delays;
        }
    })
    .await;
    let orgs_needed = endpoints.div_ceil(PER_ORG);
    let mut orgs = Vec::new();
    for o in 0..orgs_needed {
        let session = app
            .register(&format!("owner{o}@example.com"), &format!("Org {o}"))
            .await;
        orgs.push(Org {
            session,
            endpoints: Vec::new(),
        });
    }
    for i in 0..endpoints {
        let o = i % orgs_needed;
        let path = format!("/org{o}/endpoint{i}");
        let r = app
            .send(
                &orgs[o].cred(),
                Method::POST,
                "/api/v1/webhooks",
                Some(json!({"url": receiver.url(&path), "event_types": ["meeting.created"]})),
            )
            .await;
        let status = r.status();
        let v: Value = r.json().await?;
        ensure!(status == StatusCode::CREATED, "creating an endpoint: {v}");
        let secret = v["secret"]
            .as_str()
            .context("no secret in the endpoint's answer")?
            .to_owned();
        orgs[o].endpoints.push((path, secret));
    }
    Ok((app, orgs))
}

/// Creates one meeting (one `meeting.created` event) in `org`.
async fn meeting(app: &TestApp, org: &Org, title: String) -> Result<()> {
    let r = app
        .send(
            &org.cred(),
            Method::POST,
            "/api/v1/meetings",
            Some(json!({ "title": title })),
        )
        .await;
    let status = r.status();
    ensure!(
        status == StatusCode::CREATED,
        "creating a meeting: {status} {}",
        r.text().await?
    );
    Ok(())
}

/// `events` meetings, spread over the orgs in turn, `CREATE_CONCURRENCY` at a time; the
/// deliveries they make.
async fn burst(app: &TestApp, orgs: &[Org], events: usize, tag: &str) -> Result<usize> {
    let results: Vec<Result<()>> = futures::stream::iter(0..events)
        .map(|i| meeting(app, &orgs[i % orgs.len()], format!("{tag} {i}")))
        .buffer_unordered(CREATE_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok((0..events)
        .map(|i| orgs[i % orgs.len()].endpoints.len())
        .sum())
}

/// `SELECT COUNT(*) …` on the app's database.
async fn count(db: &Database, sql: &str) -> Result<i64> {
    Ok(match db {
        Database::Sqlite(pool, ..) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await?,
        Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await?,
    })
}

/// Waits until `n` deliveries have succeeded (the server's own record, read from its database
/// so as not to copy the receiver's log on every look).
async fn until_succeeded(app: &TestApp, n: usize) -> Result<()> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let done = count(
            app.db(),
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'succeeded'",
        )
        .await?;
        if usize::try_from(done)? >= n {
            return Ok(());
        }
        let failed = count(
            app.db(),
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'failed'",
        )
        .await?;
        ensure!(
            failed == 0,
            "{failed} deliveries failed for good (in a drain round: the outage outlasted the \
             retry schedule, 8 attempts over ~7 s; queue fewer deliveries)"
        );
        ensure!(
            Instant::now() < deadline,
            "{done} of {n} deliveries succeeded within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clock ticks per second (`/proc` counts CPU time in them).
fn clock_ticks() -> Result<f64> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("running getconf CLK_TCK")?;
    let ticks: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("getconf CLK_TCK printed no number")?;
    ensure!(ticks > 0.0, "getconf CLK_TCK printed {ticks}");
    Ok(ticks)
}

/// This process's CPU time so far, user and system (the app, the receiver and the bench are
/// all in it), in seconds.
fn cpu_secs(ticks: f64) -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name: state is the 3rd of the line, utime the 14th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no command name in /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    let field = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .context("a short /proc/self/stat")?
            .parse::<f64>()?)
    };
    Ok((field(11)? + field(12)?) / ticks)
}

/// Milliseconds since the epoch.
fn epoch_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The event time in a delivery's body (RFC 3339, milliseconds), as epoch milliseconds.
fn event_ms(r: &Received) -> Result<f64> {
    let body: Value = serde_json::from_slice(&r.body).context("a webhook body is JSON")?;
    let at = body["timestamp"]
        .as_str()
        .context("no timestamp in a webhook body")?;
    let at = chrono::DateTime::parse_from_rfc3339(at).context("the body's timestamp")?;
    Ok(at.timestamp_millis() as f64)
}

/// Latencies (ms, sorted), the first event and the last arrival (epoch ms) of `got`.
struct Timing {
    latencies: Vec<f64>,
    first_event: f64,
    last_arrival: f64,
}

fn timing(got: &[Received]) -> Result<Timing> {
    let mut latencies = Vec::with_capacity(got.len());
    let mut first_event = f64::INFINITY;
    let mut last_arrival = 0.0f64;
    for r in got {
        let event = event_ms(r)?;
        let arrival = epoch_ms(r.at);
        latencies.push(arrival - event);
        first_event = first_event.min(event);
        last_arrival = last_arrival.max(arrival);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(Timing {
        latencies,
        first_event,
        last_arrival,
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Each webhook-id once: a delivery sent twice would count twice otherwise.
fn distinct_ids(got: &[Received]) -> usize {
    got.iter()
        .filter_map(|r| r.header("webhook-id"))
        .collect::<HashSet<_>>()
        .len()
}

/// One throughput round's results.
struct Round {
    poll_ms: u64,
    concurrency: u32,
    endpoints: usize,
    events: usize,
    deliveries: usize,
    /// How long the API took to create the events.
    created_secs: f64,
    /// First event to last arrival.
    span_secs: f64,
    p50: f64,
    p99: f64,
    paced_deliveries: usize,
    paced_p50: f64,
    paced_p99: f64,
    peer_per_sec: f64,
    /// CPU cores this process (app, receiver, bench) kept busy meanwhile.
    cores: f64,
}

impl Round {
    fn per_sec(&self) -> f64 {
        self.deliveries as f64 / self.span_secs
    }
    fn ratio(&self) -> f64 {
        self.per_sec() / self.peer_per_sec
    }
    fn summary(&self) -> String {
        format!(
            "{} deliveries in {:.2} s ({:.0}/s; events created in {:.2} s), latency p50 {:.0} ms \
             p99 {:.0} ms; paced p50 {:.0} ms p99 {:.0} ms; peer {:.0}/s, ratio {:.3}; \
             {:.2} cores busy",
            self.deliveries,
            self.span_secs,
            self.per_sec(),
            self.created_secs,
            self.p50,
            self.p99,
            self.paced_p50,
            self.paced_p99,
            self.peer_per_sec,
            self.ratio(),
            self.cores
        )
    }
    fn to_json(&self) -> Value {
        json!({
            "poll_ms": self.poll_ms,
            "concurrency": self.concurrency,
            "endpoints": self.endpoints,
            "events": self.events,
            "deliveries": self.deliveries,
            "events_created_secs": self.created_secs,
            "first_event_to_last_delivery_secs": self.span_secs,
            "deliveries_per_sec": self.per_sec(),
            "latency_p50_ms": self.p50,
            "latency_p99_ms": self.p99,
            "paced_deliveries": self.paced_deliveries,
            "paced_latency_p50_ms": self.paced_p50,
            "paced_latency_p99_ms": self.paced_p99,
            "peer_deliveries_per_sec": self.peer_per_sec,
            "process_cpu_cores": self.cores,
            "ratio": self.ratio(),
        })
    }
}

/// A burst of `events` to `endpoints` endpoints, then a paced load, then the peer on the same
/// bodies.
async fn throughput(
    poll_ms: u64,
    endpoints: usize,
    events: usize,
    args: &Args,
    ticks: f64,
) -> Result<Round> {
    let receiver = Receiver::start().await;
    let (app, orgs) = setup(poll_ms, None, endpoints, &receiver).await?;
    let concurrency = app.config.webhooks.concurrency;

    let started = Instant::now();
    let cpu = cpu_secs(ticks)?;
    let deliveries = burst(&app, &orgs, events, "Burst").await?;
    let created_secs = started.elapsed().as_secs_f64();
    until_succeeded(&app, deliveries).await?;
    let cores = (cpu_secs(ticks)? - cpu) / started.elapsed().as_secs_f64();
    let got = receiver.received();
    ensure!(
        got.len() == deliveries && distinct_ids(&got) == deliveries,
        "expected {deliveries} deliveries, the receiver got {} ({} distinct)",
        got.len(),
        distinct_ids(&got)
    );
    let t = timing(&got)?;

    // Light load: one event at a time, spaced out, so nothing queues behind anything.
    let mut paced_deliveries = 0;
    for i in 0..args.paced {
        let org = &orgs[i % orgs.len()];
        meeting(&app, org, format!("Paced {i}")).await?;
        paced_deliveries += org.endpoints.len();
        tokio::time::sleep(Duration::from_millis(args.paced_interval_ms)).await;
    }
    until_succeeded(&app, deliveries + paced_deliveries).await?;
    let paced_got = receiver.received().split_off(deliveries);
    let paced = timing(&paced_got)?;
    drop(app);

    let peer_per_sec = peer(&got, &orgs, concurrency as usize).await?;
    Ok(Round {
        poll_ms,
        concurrency,
        endpoints,
        events,
        deliveries,
        created_secs,
        span_secs: (t.last_arrival - t.first_event) / 1000.0,
        p50: percentile(&t.latencies, 0.50),
        p99: percentile(&t.latencies, 0.99),
        paced_deliveries,
        paced_p50: percentile(&paced.latencies, 0.50),
        paced_p99: percentile(&paced.latencies, 0.99),
        peer_per_sec,
        cores,
    })
}

/// The raw ceiling: a plain reqwest client sends the bodies `got` holds to a fresh receiver,
/// signed with each endpoint's secret as the server signs them, each endpoint's in order and
/// one at a time; `concurrency` workers each take the next endpoint with deliveries left and
/// send its queue, as the server's senders lease one. A few hundred requests take
/// milliseconds, so each queue is sent over again until at least `PEER_MIN` requests in all.
/// Deliveries per second.
async fn peer(got: &[Received], orgs: &[Org], concurrency: usize) -> Result<f64> {
    let receiver = Receiver::start().await;
    let secrets: BTreeMap<&str, &str> = orgs
        .iter()
        .flat_map(|o| o.endpoints.iter())
        .map(|(path, secret)| (path.as_str(), secret.as_str()))
        .collect();
    let mut queues: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for r in got {
        queues
            .entry(r.path.clone())
            .or_default()
            .push(r.body.clone());
    }
    let repeat = PEER_MIN.div_ceil(got.len().max(1));
    let mut work = VecDeque::new();
    let mut total = 0;
    for (path, bodies) in queues {
        let bodies: Vec<Vec<u8>> = bodies
            .iter()
            .cycle()
            .take(bodies.len() * repeat)
            .cloned()
            .collect();
        let secret = secrets
            .get(path.as_str())
            .with_context(|| format!("no secret for {path}"))?;
        let secret = SigningSecret::parse(secret).context("an endpoint's secret")?;
        total += bodies.len();
        work.push_back((receiver.url(&path), secret, bodies));
    }
    let work = Arc::new(Mutex::new(work));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let work = work.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = work
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .pop_front();
                let Some((url, secret, bodies)) = next else {
                    return anyhow::Ok(());
                };
                for body in bodies {
                    let msg_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
                    let timestamp = chrono::Utc::now().timestamp();
                    let signature = secret.sign(&msg_id, timestamp, &body);
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("user-agent", "bench-peer")
                        .header("webhook-id", msg_id)
                        .header("webhook-timestamp", timestamp.to_string())
                        .header("webhook-signature", signature)
                        .body(body)
                        .send()
                        .await?;
                    ensure!(r.status().is_success(), "the peer got {}", r.status());
                    r.bytes().await?;
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    ensure!(
        receiver.received().len() == total,
        "the peer's receiver missed requests"
    );
    Ok(total as f64 / secs)
}

/// The drain round's results.
struct Drain {
    poll_ms: u64,
    concurrency: u32,
    endpoints: usize,
    per_endpoint: usize,
    deliveries: usize,
    /// First event to the last 503.
    outage_secs: f64,
    /// Requests answered 503.
    refused: usize,
    /// The last 503 to the first 200.
    first_secs: f64,
    /// The last 503 to the last delivery.
    drain_secs: f64,
    peer_per_sec: f64,
    /// CPU cores this process (app, receiver, bench) kept busy meanwhile.
    cores: f64,
}

impl Drain {
    fn per_sec(&self) -> f64 {
        self.deliveries as f64 / self.drain_secs
    }
    /// Once delivering: from the first 200 to the last (what the senders sustain, the time
    /// to notice the recovery left out).
    fn sending_per_sec(&self) -> f64 {
        self.deliveries as f64 / (self.drain_secs - self.first_secs)
    }
    fn ratio(&self) -> f64 {
        self.per_sec() / self.peer_per_sec
    }
    fn summary(&self) -> String {
        format!(
            "{} deliveries; outage {:.1} s ({} answered 503); recovery → first 200 {:.2} s, → all \
             {:.2} s ({:.0}/s; {:.0}/s from the first 200); peer {:.0}/s, ratio {:.3}; {:.2} \
             cores busy",
            self.deliveries,
            self.outage_secs,
            self.refused,
            self.first_secs,
            self.drain_secs,
            self.per_sec(),
            self.sending_per_sec(),
            self.peer_per_sec,
            self.ratio(),
            self.cores
        )
    }
    fn to_json(&self) -> Value {
        json!({
            "poll_ms": self.poll_ms,
            "concurrency": self.concurrency,
            "retry_delays_ms": vec![DRAIN_RETRY_MS; 7],
            "endpoints": self.endpoints,
            "deliveries_per_endpoint": self.per_endpoint,
            "deliveries": self.deliveries,
            "outage_secs": self.outage_secs,
            "answered_503": self.refused,
            "recovery_to_first_delivery_secs": self.first_secs,
            "recovery_to_last_delivery_secs": self.drain_secs,
            "deliveries_per_sec": self.per_sec(),
            "first_to_last_delivery_per_sec": self.sending_per_sec(),
            "peer_deliveries_per_sec": self.peer_per_sec,
            "process_cpu_cores": self.cores,
            "ratio": self.ratio(),
        })
    }
}

/// The receiver answers 503 while `per_endpoint` events per org queue as many deliveries for
/// each of `endpoints` endpoints, then 200: from the last 503 to the last delivery.
async fn drain(poll_ms: u64, endpoints: usize, per_endpoint: usize, ticks: f64) -> Result<Drain> {
    let receiver = Receiver::start().await;
    let (app, orgs) = setup(poll_ms, Some(vec![DRAIN_RETRY_MS; 7]), endpoints, &receiver).await?;
    let concurrency = app.config.webhooks.concurrency;
    let events = per_endpoint * orgs.len();
    // The outage: the receiver answers from its script, one answer per request, so the script
    // is kept two rounds of attempts ahead of the requests (each endpoint tries about once a
    // second) until every delivery is queued; then nothing more is added, and the answers left
    // run out in the next attempts: the recovery is the last 503.
    let ahead = 2 * endpoints;
    let mut scripted = 0usize;
    let mut top_up = |received: usize| {
        if scripted < received + ahead {
            let more = received + ahead - scripted;
            receiver.script((0..more).map(|_| Answer::status(503)));
            scripted += more;
        }
    };
    top_up(0);
    let deliveries = {
        let create = burst(&app, &orgs, events, "Drain");
        tokio::pin!(create);
        let mut created = None;
        loop {
            tokio::select! {
                done = &mut create, if created.is_none() => created = Some(done?),
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            top_up(receiver.received().len());
            if let Some(n) = created {
                let queued = count(app.db(), "SELECT COUNT(*) FROM webhook_deliveries").await?;
                if usize::try_from(queued)? >= n {
                    break n;
                }
            }
        }
    };
    let scripted = scripted;
    let started = Instant::now();
    let cpu = cpu_secs(ticks)?;
    until_succeeded(&app, deliveries).await?;
    let cores = (cpu_secs(ticks)? - cpu) / started.elapsed().as_secs_f64();
    let got = receiver.received();
    drop(app);
    ensure!(
        deliveries == endpoints * per_endpoint,
        "{deliveries} deliveries queued, not {endpoints} × {per_endpoint}: uneven orgs"
    );
    ensure!(got.len() >= scripted, "fewer requests than 503s scripted");
    let (refused, answered) = got.split_at(scripted);
    ensure!(
        distinct_ids(answered) == deliveries,
        "expected {deliveries} deliveries after the outage, got {} distinct of {}",
        distinct_ids(answered),
        answered.len()
    );
    let first_event = refused
        .iter()
        .map(event_ms)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    let recovery = refused.last().map_or(0.0, |r| epoch_ms(r.at));
    let first = answered.first().map_or(0.0, |r| epoch_ms(r.at));
    let last = answered
        .iter()
        .map(|r| epoch_ms(r.at))
        .fold(0.0f64, f64::max);
    let peer_per_sec = peer(answered, &orgs, concurrency as usize).await?;
    Ok(Drain {
        poll_ms,
        concurrency,
        endpoints,
        per_endpoint,
        deliveries,
        outage_secs: (recovery - first_event) / 1000.0,
        refused: refused.len(),
        first_secs: (first - recovery) / 1000.0,
        drain_secs: (last - recovery) / 1000.0,
        peer_per_sec,
        cores,
    })
}

/// 12,345.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

fn print_tables(rounds: &[Round], drains: &[Drain]) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!();
    println!(
        "{cores} cores; the app in-process on SQLite (TEST_DATABASE), the receiver and the peer \
         on 127.0.0.1; latency = arrival − event time in the body; CPU = cores this process \
         (app, receiver, bench) kept busy while meetvault delivered"
    );
    if !rounds.is_empty() {
        println!();
        println!(
            "| poll_ms | senders | endpoints | events | deliveries | events created in | \
             deliveries/s | p50 | p99 | paced p50 | paced p99 | peer deliveries/s | ratio | \
             CPU |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in rounds {
            println!(
                "| {} | {} | {} | {} | {} | {:.2} s | {} | {} | {} | {} | {} | {} | {:.3} | {:.2} |",
                r.poll_ms,
                r.concurrency,
                r.endpoints,
                thousands(r.events as f64),
                thousands(r.deliveries as f64),
                r.created_secs,
                thousands(r.per_sec()),
                ms(r.p50),
                ms(r.p99),
                ms(r.paced_p50),
                ms(r.paced_p99),
                thousands(r.peer_per_sec),
                r.ratio(),
                r.cores,
            );
        }
    }
    if !drains.is_empty() {
        println!();
        println!(
            "drain: retry_delays_ms = [{DRAIN_RETRY_MS}; 7]; the receiver answers 503 until \
             every delivery is queued"
        );
        println!(
            "| poll_ms | senders | endpoints × deliveries each | deliveries | outage | 503s | recovery → \
             first | recovery → all | deliveries/s | first → all /s | peer deliveries/s | ratio | CPU |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for d in drains {
            println!(
                "| {} | {} | {} × {} | {} | {:.1} s | {} | {:.2} s | {:.2} s | {} | {} | {} | {:.3} | {:.2} |",
                d.poll_ms,
                d.concurrency,
                d.endpoints,
                thousands(d.per_endpoint as f64),
                thousands(d.deliveries as f64),
                d.outage_secs,
                thousands(d.refused as f64),
                d.first_secs,
                d.drain_secs,
                thousands(d.per_sec()),
                thousands(d.sending_per_sec()),
                thousands(d.peer_per_sec),
                d.ratio(),
                d.cores,
            );
        }
    }
}
