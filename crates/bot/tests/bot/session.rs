//! The bot session against real testmeet: a testmeet server in this process, forwarded into
//! one private network namespace where the bot's own Chromium (through its launch prefix)
//! and every participant's browser run. Each test drives the host's page as a person would
//! and checks what the session reported and how it ended.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use meetvault_bot::{
    BotEvent, BotSpec, BotState, Command, LaunchOptions, MemoryReporter, Outcome, Recorded,
    Session, TrackKey, sub_code,
};
use meetvault_recipe::Recipe;
use meetvault_test_support::browser::{Browser, BrowserOptions, Netns, Page};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::capture::{best_alignment, by_window};
use crate::support::speech;

/// How long a condition may take (generous: two shared cores, several browsers).
const LIMIT: Duration = Duration::from_secs(40);

const BOT: &str = "Meetvault Notetaker";
const CONSENT: &str = "This meeting is recorded by Meetvault Notetaker. Type /optout to opt out.";

/// The recording tests take this exclusively, the others shared: their browsers and the loss
/// measure do not share two cores with another meeting of this binary.
pub(crate) static CORES: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A testmeet room reachable in a namespace of its own.
struct Room {
    netns: Netns,
    url: String,
    host_url: String,
}

async fn room() -> Room {
    let server = meetvault_testmeet::Server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run(std::future::pending()));
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let room: Value = response.json().await.unwrap();
    Room {
        netns: Netns::new(&[addr]).await,
        url: room["url"].as_str().unwrap().to_owned(),
        host_url: room["host_url"].as_str().unwrap().to_owned(),
    }
}

fn recipe() -> Recipe {
    Recipe::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes/testmeet.toml"))
        .unwrap()
}

fn spec(room: &Room) -> BotSpec {
    let mut spec = BotSpec::new(&room.url, BOT);
    spec.consent_message = Some(CONSENT.to_owned());
    spec
}

/// A session running in the background.
struct Bot {
    reporter: MemoryReporter,
    task: JoinHandle<Outcome>,
}

fn start(room: &Room, spec: BotSpec, recipe: Recipe) -> Bot {
    let reporter = MemoryReporter::new();
    let launch = LaunchOptions {
        command_prefix: room.netns.enter_prefix(),
        ..LaunchOptions::default()
    };
    let task = tokio::spawn(Session::run(spec, recipe, reporter.clone(), launch));
    Bot { reporter, task }
}

impl Bot {
    async fn reaches(&self, state: BotState) {
        let reached = self.reporter.wait_until(LIMIT, |r| r.reached(state)).await;
        assert!(
            reached,
            "the bot never reached {state:?}: {:?}",
            states(&self.reporter.recorded())
        );
    }

    async fn wait(&self, what: &str, done: impl Fn(&Recorded) -> bool) {
        assert!(
            self.reporter.wait_until(2 * LIMIT, done).await,
            "waited {:?} for {what}",
            2 * LIMIT
        );
    }

    async fn outcome(self) -> (Outcome, Recorded) {
        let outcome = tokio::time::timeout(LIMIT, self.task)
            .await
            .expect("the session ends")
            .unwrap();
        (outcome, self.reporter.recorded())
    }
}

fn states(recorded: &Recorded) -> Vec<(BotState, Option<&'static str>)> {
    recorded
        .transitions
        .iter()
        .map(|t| (t.state, t.sub_code))
        .collect()
}

/// Asserts the session ended with `code` after exactly `path` (then `Ended`).
fn ended(outcome: &Outcome, recorded: &Recorded, path: &[BotState], code: &'static str) {
    assert_eq!(
        (outcome.state, outcome.sub_code),
        (BotState::Ended, code),
        "{outcome:?}"
    );
    let mut want: Vec<(BotState, Option<&'static str>)> =
        path.iter().map(|state| (*state, None)).collect();
    if path.last() == Some(&BotState::Leaving) {
        want.last_mut().unwrap().1 = Some(code);
    }
    want.push((BotState::Ended, Some(code)));
    assert_eq!(states(recorded), want);
}

const ADMITTED: &[BotState] = &[
    BotState::Joining,
    BotState::WaitingRoom,
    BotState::Joined,
    BotState::Recording,
];

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Opens `url` in a new tab of `browser` and asks to join as `name`, waiting for `state`.
async fn join(browser: &Browser, url: &str, name: &str, state: &str) -> Page {
    join_after(browser, url, name, "", state).await
}

/// [`join`] with the microphone off (a host who only listens: fewer streams to decode).
async fn join_muted(browser: &Browser, url: &str, name: &str) -> Page {
    let mute = "document.querySelector('#mic-toggle').click();";
    join_after(browser, url, name, mute, "joined").await
}

/// [`join`], running `setup` on the pre-join screen first.
async fn join_after(browser: &Browser, url: &str, name: &str, setup: &str, state: &str) -> Page {
    let page = browser.new_page().await;
    page.navigate(url).await;
    page.evaluate(&format!(
        "{setup} document.querySelector('#name').value = {}; document.querySelector('#join').click(); true",
        js(name)
    ))
    .await;
    page.wait_for(
        &format!("{name} to reach {state}"),
        &format!("document.body.dataset.state === {}", js(state)),
        LIMIT,
    )
    .await;
    page
}

/// The host presses `button` (admit or deny) beside `name` in the lobby list.
async fn decide(host: &Page, name: &str, button: &str) {
    let li = format!(
        "[...document.querySelectorAll('#lobby-list li')].find(li => li.querySelector('.name').textContent === {})",
        js(name)
    );
    host.wait_for(&format!("{name} in the lobby"), &format!("!!{li}"), LIMIT)
        .await;
    host.evaluate(&format!(
        "{li}.querySelector('button.{button}').click(); true"
    ))
    .await;
}

/// The participant id the host's list shows for `name`.
async fn id_of(host: &Page, name: &str) -> String {
    host.wait_for(
        &format!("{name} in the participant list"),
        &format!(
            "[...document.querySelectorAll('#participants li')].find(li => li.querySelector('.name').textContent === {})?.dataset.participantId",
            js(name)
        ),
        LIMIT,
    )
    .await
    .as_str()
    .unwrap()
    .to_owned()
}

/// Whether `page`'s chat shows `text`.
async fn shows_chat(page: &Page, text: &str) {
    page.wait_for(
        &format!("the chat to show {text:?}"),
        &format!(
            "[...document.querySelectorAll('#chat-messages .msg .text')].some(t => t.textContent === {})",
            js(text)
        ),
        LIMIT,
    )
    .await;
}

async fn say(page: &Page, text: &str) {
    page.evaluate(&format!(
        "document.querySelector('#chat-input').value = {}; document.querySelector('#chat-send').click(); true",
        js(text)
    ))
    .await;
}

/// A host in the room, and a bot it admits (recording, consent posted).
async fn admitted_bot(room: &Room, spec: BotSpec) -> (Browser, Page, Bot) {
    let host_browser = Browser::launch_in(&room.netns, BrowserOptions::fake_media()).await;
    let host = join(&host_browser, &room.host_url, "Ada", "joined").await;
    let bot = start(room, spec, recipe());
    bot.reaches(BotState::WaitingRoom).await;
    decide(&host, BOT, "admit").await;
    bot.reaches(BotState::Recording).await;
    (host_browser, host, bot)
}

/// Processes of the bot's Chromium (its profile is `meetvault-bot-…`) in `room`'s namespace,
/// as `(pid, command line)`.
fn bot_processes(room: &Room) -> Vec<(i32, String)> {
    let ns = std::fs::read_link(room.netns.net_path()).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l == ns))
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains("meetvault-bot-").then_some((pid, cmdline))
        })
        .collect()
}

/// Once the session has returned, nothing of its Chromium runs (zombies aside, briefly).
async fn no_bot_processes(room: &Room) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = bot_processes(room);
        if left.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot's Chromium outlived its session: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn mapped(recorded: &Recorded, participant: &str) -> Vec<TrackKey> {
    recorded
        .events
        .iter()
        .filter_map(|e| match &e.event {
            BotEvent::TrackMapped {
                track,
                participant_id,
            } if participant_id == participant => Some(track.clone()),
            _ => None,
        })
        .collect()
}

fn pieces_of(recorded: &Recorded, tracks: &[TrackKey], after: u64) -> usize {
    recorded
        .audio
        .iter()
        .filter(|a| tracks.contains(&a.track) && a.n > after)
        .count()
}

fn opted_out_at(recorded: &Recorded, participant: &str) -> Option<u64> {
    recorded.events.iter().find_map(|e| match &e.event {
        BotEvent::ParticipantOptedOut { participant_id } if participant_id == participant => {
            Some(e.n)
        }
        _ => None,
    })
}

/// The reported audio of `track` as one signal, each piece at its `start_ms`.
fn signal(recorded: &Recorded, track: &TrackKey) -> Vec<f32> {
    let pieces: Vec<_> = recorded
        .audio
        .iter()
        .filter(|a| &a.track == track)
        .collect();
    let seqs: Vec<u64> = pieces.iter().map(|a| a.seq).collect();
    assert_eq!(
        seqs,
        (0..pieces.len() as u64).collect::<Vec<_>>(),
        "track {track}: sequence numbers count up from 0"
    );
    let first = pieces.first().map_or(0, |a| a.start_ms);
    let mut pcm = Vec::new();
    for piece in pieces {
        assert!(piece.pcm16k.len() <= meetvault_bot::PIECE_SAMPLES);
        let at = (piece.start_ms - first) as usize * 16;
        if pcm.len() < at + piece.pcm16k.len() {
            pcm.resize(at + piece.pcm16k.len(), 0.0);
        }
        for (i, s) in piece.pcm16k.iter().enumerate() {
            pcm[at + i] = f32::from(*s) / 32768.0;
        }
    }
    pcm
}

/// How well `captured` holds `reference` somewhere (its source loops): the correlation where
/// it fits best or, if WebRTC's jitter buffer stretched it, the mean of its half seconds
/// each where it fits best within 100 ms (the capture tests' rule).
fn match_of(captured: &[f32], reference: &[f32]) -> f64 {
    let (lag, whole) = best_alignment(captured, reference);
    if whole >= 0.9 {
        return whole;
    }
    let windows = by_window(captured, reference, lag, 1600);
    let mean = windows.iter().map(|(_, c)| c).sum::<f64>() / windows.len().max(1) as f64;
    eprintln!("whole-source correlation {whole:.3}; by half second: {windows:?}");
    mean
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_waits_is_admitted_asks_consent_records_each_speaker_honours_an_opt_out_and_ends_with_the_meeting()
 {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _alone = CORES.write().await;
    let room = room().await;
    let work = tempfile::tempdir().unwrap();
    let wavs = [
        speech(
            work.path(),
            "bob",
            "en-us+f2",
            "Hello everyone, Bob here with the quarterly numbers.",
        ),
        speech(
            work.path(),
            "cyd",
            "en-gb+m1",
            "Thanks Bob, Cyd speaking from the other office.",
        ),
    ];
    let (host_browser, bob_browser, cyd_browser) = tokio::join!(
        Browser::launch_in(&room.netns, BrowserOptions::fake_media()),
        Browser::launch_in(&room.netns, BrowserOptions::speaking(&wavs[0])),
        Browser::launch_in(&room.netns, BrowserOptions::speaking(&wavs[1])),
    );
    let host = join_muted(&host_browser, &room.host_url, "Ada").await;
    let bob = join(&bob_browser, &room.url, "Bob", "lobby").await;
    let cyd = join(&cyd_browser, &room.url, "Cyd", "lobby").await;
    decide(&host, "Bob", "admit").await;
    decide(&host, "Cyd", "admit").await;

    // The bot waits in the lobby until the host lets it in, then says who it is.
    let bot = start(&room, spec(&room), recipe());
    bot.reaches(BotState::WaitingRoom).await;
    assert!(!bot.reporter.recorded().reached(BotState::Joined));
    decide(&host, BOT, "admit").await;
    bot.reaches(BotState::Recording).await;
    shows_chat(&host, CONSENT).await;
    let (ada_id, bob_id, cyd_id) = (
        id_of(&host, "Ada").await,
        id_of(&host, "Bob").await,
        id_of(&host, "Cyd").await,
    );

    // Each guest's track is tied to them and 46 s of each is reported. (The loss measure
    // counts a track's jitter buffer filling when its packets start, up to 40 ms once,
    // though only silence was lost then: under 0.1% from 40 s of track on.)
    bot.wait("46 s of Bob's and Cyd's audio", |r| {
        [&bob_id, &cyd_id].iter().all(|id| {
            let tracks = mapped(r, id);
            !tracks.is_empty() && pieces_of(r, &tracks, 0) >= 23
        })
    })
    .await;

    // What the bot's Chromium costs while it records three tracks (printed, not asserted).
    let browser = bot_processes(&room)
        .into_iter()
        .find(|(_, cmdline)| !cmdline.contains("--type=") && !cmdline.starts_with("setpriv"))
        .map(|(pid, _)| pid.unsigned_abs())
        .unwrap();
    let (cpu_before, started) = (crate::support::usage(browser).0, std::time::Instant::now());

    // Cyd opts out: nothing more of Cyd is reported, Bob goes on.
    say(&cyd, "/optout").await;
    bot.wait("Cyd's opt-out", |r| opted_out_at(r, &cyd_id).is_some())
        .await;
    let at = opted_out_at(&bot.reporter.recorded(), &cyd_id).unwrap();
    bot.wait("2 more pieces of Bob", |r| {
        pieces_of(r, &mapped(r, &bob_id), at) >= 2
    })
    .await;

    let (cpu_after, pss) = crate::support::usage(browser);
    eprintln!(
        "the bot's Chromium recording: {:.3} core, {pss:.0} MiB PSS",
        (cpu_after - cpu_before) / started.elapsed().as_secs_f64()
    );

    // The host ends the meeting.
    host.evaluate("document.querySelector('#end-meeting').click(); true")
        .await;
    let (outcome, recorded) = bot.outcome().await;
    ended(&outcome, &recorded, ADMITTED, sub_code::MEETING_ENDED);
    no_bot_processes(&room).await;
    drop((bob, host_browser, bob_browser, cyd_browser));

    let joined: BTreeMap<String, String> = recorded
        .events
        .iter()
        .filter_map(|e| match &e.event {
            BotEvent::ParticipantJoined { id, name } => Some((id.clone(), name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        joined,
        BTreeMap::from([
            (ada_id.clone(), "Ada".to_owned()),
            (bob_id.clone(), "Bob".to_owned()),
            (cyd_id.clone(), "Cyd".to_owned()),
        ]),
        "everyone but the bot itself is reported"
    );
    let chat: Vec<&BotEvent> = recorded
        .events
        .iter()
        .map(|e| &e.event)
        .filter(|e| matches!(e, BotEvent::ChatMessage { .. }))
        .collect();
    assert!(
        chat.iter()
            .any(|e| matches!(e, BotEvent::ChatMessage { text, .. } if text == CONSENT)),
        "the consent message is in the chat: {chat:?}"
    );
    assert!(
        !chat
            .iter()
            .any(|e| matches!(e, BotEvent::ChatMessage { text, .. } if text == "/optout")),
        "the opt-out itself is not reported"
    );

    let (bob_tracks, cyd_tracks) = (mapped(&recorded, &bob_id), mapped(&recorded, &cyd_id));
    assert_eq!((bob_tracks.len(), cyd_tracks.len()), (1, 1));
    assert!(
        recorded
            .audio
            .iter()
            .all(|a| !cyd_tracks.contains(&a.track) || a.n < at),
        "no audio of Cyd after the opt-out"
    );
    let references: Vec<Vec<f32>> = wavs
        .iter()
        .map(|wav| {
            meetvault_audio::decode_file(
                wav,
                &meetvault_audio::Limits {
                    max_duration_secs: 60.0,
                },
            )
            .unwrap()
            .0
        })
        .collect();
    for (i, (name, track)) in [("Bob", &bob_tracks[0]), ("Cyd", &cyd_tracks[0])]
        .into_iter()
        .enumerate()
    {
        let captured = signal(&recorded, track);
        let own = match_of(&captured, &references[i]);
        let (_, other) = best_alignment(&captured, &references[1 - i]);
        eprintln!(
            "{name}'s track {track}: matches {name} {own:.3}, the other guest {other:.3}, lost \
             {:.3}%",
            outcome.tracks[track].loss_percent()
        );
        assert!(
            own >= 0.9,
            "{name}'s track does not match {name}'s voice: {own:.3}"
        );
        assert!(
            other < 0.5,
            "{name}'s track matches the other guest: {other:.3}"
        );
        // Loss is what WebRTC decoded that the capture did not read: four Chromiums on two
        // cores make the playout clock skip (gaps, filled with silence), not lose audio.
        let stats = outcome.tracks[track];
        assert!(
            stats.decoder_measured && stats.loss_percent() < 0.1,
            "{name}'s track lost {:.3}% ({stats:?})",
            stats.loss_percent()
        );
    }
    assert!(recorded.heartbeats >= 1, "the session reports it is alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_the_host_denies_ends_with_admission_denied() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let host_browser = Browser::launch_in(&room.netns, BrowserOptions::fake_media()).await;
    let host = join(&host_browser, &room.host_url, "Ada", "joined").await;
    let bot = start(&room, spec(&room), recipe());
    bot.reaches(BotState::WaitingRoom).await;
    decide(&host, BOT, "deny").await;
    let (outcome, recorded) = bot.outcome().await;
    ended(
        &outcome,
        &recorded,
        &[BotState::Joining, BotState::WaitingRoom],
        sub_code::ADMISSION_DENIED,
    );
    assert!(recorded.audio.is_empty());
    assert!(
        matches!(&recorded.events[..], [e] if matches!(e.event, BotEvent::AudioClock { unix_ms } if unix_ms > 1_700_000_000_000)),
        "only the audio clock: {:?}",
        recorded.events
    );
    no_bot_processes(&room).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_nobody_admits_leaves_at_the_waiting_room_timeout() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let mut spec = spec(&room);
    spec.automatic_leave.waiting_room_timeout = Some(Duration::from_secs(3));
    let bot = start(&room, spec, recipe());
    let (outcome, recorded) = bot.outcome().await;
    ended(
        &outcome,
        &recorded,
        &[BotState::Joining, BotState::WaitingRoom, BotState::Leaving],
        sub_code::WAITING_ROOM_TIMEOUT,
    );
    let waited = recorded.transitions[2].at - recorded.transitions[1].at;
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(8)).contains(&waited),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_the_host_removes_ends_with_removed_by_host() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let (_host_browser, host, bot) = admitted_bot(&room, spec(&room)).await;
    let bot_id = id_of(&host, BOT).await;
    host.evaluate(&format!(
        "document.querySelector('#participants li[data-participant-id={}] button.remove').click(); true",
        js(&bot_id)
    ))
    .await;
    let (outcome, recorded) = bot.outcome().await;
    ended(&outcome, &recorded, ADMITTED, sub_code::REMOVED_BY_HOST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_left_alone_leaves_with_everyone_left() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let mut spec = spec(&room);
    spec.automatic_leave.everyone_left_timeout = Some(Duration::from_secs(2));
    let (host_browser, host, bot) = admitted_bot(&room, spec).await;
    let ada = id_of(&host, "Ada").await;
    bot.wait("Ada listed", |r| {
        r.events
            .iter()
            .any(|e| matches!(&e.event, BotEvent::ParticipantJoined { id, .. } if id == &ada))
    })
    .await;
    // The host closes the browser: only the bot remains.
    drop((host, host_browser));
    let (outcome, recorded) = bot.outcome().await;
    let mut path = ADMITTED.to_vec();
    path.push(BotState::Leaving);
    ended(&outcome, &recorded, &path, sub_code::EVERYONE_LEFT);
    assert!(
        recorded
            .events
            .iter()
            .any(|e| matches!(&e.event, BotEvent::ParticipantLeft { id, .. } if id == &ada))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_leaves_at_its_max_duration() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let mut spec = spec(&room);
    spec.automatic_leave.max_duration = Some(Duration::from_secs(3));
    // Without a consent message the bot records and posts nothing.
    spec.consent_message = None;
    let (_host_browser, host, bot) = admitted_bot(&room, spec).await;
    let (outcome, recorded) = bot.outcome().await;
    let mut path = ADMITTED.to_vec();
    path.push(BotState::Leaving);
    ended(&outcome, &recorded, &path, sub_code::MAX_DURATION);
    let posted = host
        .evaluate("document.querySelectorAll('#chat-messages .msg').length")
        .await;
    assert_eq!(posted, 0);
    let stayed = recorded.transitions[4].at - recorded.transitions[3].at;
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(8)).contains(&stayed),
        "{stayed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_makes_the_bot_chat_then_leave() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let (_host_browser, host, bot) = admitted_bot(&room, spec(&room)).await;
    let commands = bot.reporter.commands_sender();
    commands
        .send(Command::SendChat(
            "Notes will be shared after the call.".into(),
        ))
        .await
        .unwrap();
    shows_chat(&host, "Notes will be shared after the call.").await;
    commands
        .send(Command::Leave(sub_code::LEFT_BY_API))
        .await
        .unwrap();
    let (outcome, recorded) = bot.outcome().await;
    let mut path = ADMITTED.to_vec();
    path.push(BotState::Leaving);
    ended(&outcome, &recorded, &path, sub_code::LEFT_BY_API);
    host.wait_for(
        "the bot gone from the list",
        &format!(
            "![...document.querySelectorAll('#participants li .name')].some(n => n.textContent === {})",
            js(BOT)
        ),
        LIMIT,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_step_that_never_succeeds_is_platform_ui_changed_with_a_diagnosis() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes/testmeet.toml"),
    )
    .unwrap()
    .replace(
        "selector = \"button#join\"\ntimeout_ms = 5000",
        "selector = \"button#join-now\"\ntimeout_ms = 2000",
    );
    let changed = Recipe::from_toml_str(&text).unwrap();
    let (outcome, recorded) = start(&room, spec(&room), changed).outcome().await;
    assert_eq!(
        (outcome.state, outcome.sub_code),
        (BotState::FatalError, sub_code::PLATFORM_UI_CHANGED),
        "{outcome:?}"
    );
    assert_eq!(
        states(&recorded),
        vec![
            (BotState::Joining, None),
            (BotState::FatalError, Some(sub_code::PLATFORM_UI_CHANGED))
        ]
    );
    let Some(BotEvent::Diagnosis {
        reason,
        screenshot_png,
        dom_html,
    }) = recorded.events.last().map(|e| &e.event)
    else {
        panic!("no diagnosis: {:?}", recorded.events);
    };
    assert_eq!(
        reason,
        "recipe testmeet version 1: join step 6 did not succeed within 2s"
    );
    assert_eq!(outcome.detail.as_deref(), Some(reason.as_str()));
    assert!(screenshot_png.starts_with(b"\x89PNG"), "a PNG screenshot");
    assert!(
        dom_html.contains("id=\"join\""),
        "the DOM as the page had it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_hears_nothing_leaves_at_the_silence_timeout() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let host_browser = Browser::launch_in(&room.netns, BrowserOptions::fake_media()).await;
    // The host's microphone is off: the bot receives no track at all.
    let host = join_muted(&host_browser, &room.host_url, "Ada").await;
    let mut spec = spec(&room);
    spec.automatic_leave.silence_timeout = Some(Duration::from_secs(3));
    let bot = start(&room, spec, recipe());
    bot.reaches(BotState::WaitingRoom).await;
    decide(&host, BOT, "admit").await;
    let (outcome, recorded) = bot.outcome().await;
    let mut path = ADMITTED.to_vec();
    path.push(BotState::Leaving);
    ended(&outcome, &recorded, &path, sub_code::SILENCE);
    let stayed = recorded.transitions[4].at - recorded.transitions[3].at;
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(8)).contains(&stayed),
        "{stayed:?}"
    );
    assert!(recorded.audio.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_whose_browser_dies_ends_with_browser_crashed() {
    let _one = crate::support::one_meeting_at_a_time().await;
    let _shared = CORES.read().await;
    let room = room().await;
    let bot = start(&room, spec(&room), recipe());
    bot.reaches(BotState::WaitingRoom).await;
    // The bot's own Chromium (the browser process, in this test's namespace) is killed.
    let browsers: Vec<i32> = bot_processes(&room)
        .into_iter()
        .filter(|(_, cmdline)| {
            cmdline.contains("--remote-debugging-pipe")
                && !cmdline.contains("--type=")
                && !cmdline.starts_with("setpriv")
        })
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(browsers.len(), 1, "one bot browser in the namespace");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(browsers[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let (outcome, recorded) = bot.outcome().await;
    assert_eq!(
        (outcome.state, outcome.sub_code),
        (BotState::FatalError, sub_code::BROWSER_CRASHED),
        "{outcome:?}"
    );
    assert_eq!(
        states(&recorded),
        vec![
            (BotState::Joining, None),
            (BotState::WaitingRoom, None),
            (BotState::FatalError, Some(sub_code::BROWSER_CRASHED)),
        ]
    );
    no_bot_processes(&room).await;
}
