//! One session's state and its loop: join steps, the detector poll, chat, participants,
//! tracks, opt-outs, leave rules and the end.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use meetvault_recipe::js::CompiledStep;
use meetvault_recipe::{DetectorKind, Recipe};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

mod people;

use super::audio::{Piece, Pieces, rms};
use super::rules::{Seen, leave_rule};
use super::{
    BotEvent, BotSpec, BotState, Command, End, HEARTBEAT, Outcome, POLL, Reporter, SILENCE_RMS,
    UI_GRACE, describe, is_true, past, sub_code,
};
use crate::{Browser, Capture, CaptureEvent, Page, TrackKey, TrackStats};

/// Where the bot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Join steps done; no state seen yet.
    Asking { since: Instant },
    /// In the waiting room.
    Lobby { since: Instant },
    /// Admitted and recording.
    In { since: Instant },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Participant {
    name: String,
    stream_id: Option<String>,
}

#[derive(Debug, Default)]
struct Track {
    stream_id: Option<String>,
    participant: Option<String>,
    started: u64,
}

/// A running session.
pub(super) struct Meeting<R> {
    spec: BotSpec,
    recipe: Recipe,
    reporter: R,
    browser: Browser,
    page: Page,
    capture: Capture,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    /// The detectors of [`DetectorKind::STATE_ORDER`] as one expression returning a list.
    detectors: String,
    /// Participants, chat and active speakers as one expression.
    scrape: String,
    phase: Option<Phase>,
    /// Since when the page shows none of the recipe's states while in the meeting.
    lost_since: Option<Instant>,
    participants: BTreeMap<String, Participant>,
    self_id: Option<String>,
    /// When the last heartbeat was reported.
    last_beat: Option<Instant>,
    /// When the participant list's open steps last ran.
    participants_opened: Option<Instant>,
    seen_others: bool,
    alone_since: Option<Instant>,
    last_sound: Option<Instant>,
    chat_seen: HashSet<String>,
    speakers: Vec<String>,
    tracks: HashMap<TrackKey, Track>,
    tracks_started: u64,
    opted_out: HashSet<String>,
    pieces: Pieces,
    stats: BTreeMap<TrackKey, TrackStats>,
}

impl<R: Reporter> Meeting<R> {
    pub(super) fn new(
        spec: BotSpec,
        recipe: Recipe,
        reporter: R,
        browser: Browser,
        page: Page,
        capture: Capture,
        commands: mpsc::Receiver<Command>,
    ) -> Self {
        let detectors = format!(
            "[{}]",
            DetectorKind::STATE_ORDER
                .iter()
                .map(|kind| recipe.detector_js(*kind))
                .collect::<Vec<_>>()
                .join(",\n")
        );
        let scrape = format!(
            "({{participants: {}, chat: {}, speakers: {}}})",
            recipe.participants_js(),
            recipe.chat_messages_js(),
            recipe.active_speakers_js().unwrap_or_else(|| "null".into())
        );
        Meeting {
            spec,
            recipe,
            reporter,
            browser,
            page,
            capture,
            commands,
            commands_open: true,
            detectors,
            scrape,
            phase: None,
            lost_since: None,
            participants: BTreeMap::new(),
            self_id: None,
            last_beat: None,
            participants_opened: None,
            seen_others: false,
            alone_since: None,
            last_sound: None,
            chat_seen: HashSet::new(),
            speakers: Vec::new(),
            tracks: HashMap::new(),
            tracks_started: 0,
            opted_out: HashSet::new(),
            pieces: Pieces::default(),
            stats: BTreeMap::new(),
        }
    }

    /// Runs the recipe's join steps (navigating to the meeting, then asking to join).
    pub(super) async fn join(&mut self) -> Result<(), End> {
        let steps = self.recipe.join_steps(&self.spec.bot_name);
        self.run_steps("join", &steps).await?;
        self.phase = Some(Phase::Asking {
            since: Instant::now(),
        });
        Ok(())
    }

    /// Runs `steps` in order; a step that does not succeed in time ends the session with
    /// `platform_ui_changed` (an optional one is skipped).
    async fn run_steps(&mut self, list: &str, steps: &[CompiledStep]) -> Result<(), End> {
        for (index, step) in steps.iter().enumerate() {
            if step.navigate {
                self.navigate(step.timeout).await?;
                continue;
            }
            let Some(expression) = &step.expression else {
                continue;
            };
            let deadline = Instant::now() + step.timeout;
            loop {
                match self.page.evaluate(expression).await {
                    Ok(value) if is_true(&value) => break,
                    Ok(_) => {}
                    Err(crate::BotError::BrowserClosed(_)) => return Err(End::crashed()),
                    // A navigation in between (the context went away): try again.
                    Err(e) => tracing::debug!(list, index, error = %e, "step evaluation failed"),
                }
                if past(deadline) {
                    if step.optional {
                        break;
                    }
                    return Err(End::UiChanged(describe(list, index, step)));
                }
                self.pump(Duration::from_millis(200)).await?;
            }
            if let Some(key) = step.key {
                for event in key.dispatch_events() {
                    self.page
                        .call("Input.dispatchKeyEvent", event)
                        .await
                        .map_err(|e| End::from_error(&e, "pressing a key"))?;
                }
            }
        }
        Ok(())
    }

    async fn navigate(&mut self, timeout: Duration) -> Result<(), End> {
        let url = self.spec.meeting_url.clone();
        match self.page.navigate(&url, timeout).await {
            Ok(()) => {}
            Err(crate::BotError::Navigation(reason)) => {
                return Err(End::Fatal(sub_code::MEETING_NOT_FOUND, reason));
            }
            Err(e) => return Err(End::from_error(&e, "loading the meeting page")),
        }
        let bad = self
            .page
            .evaluate(&self.recipe.self_check_js())
            .await
            .map_err(|e| End::from_error(&e, "checking the recipe in the page"))?;
        match bad.as_array() {
            Some(bad) if bad.is_empty() => Ok(()),
            _ => Err(End::UiChanged(format!(
                "the browser refuses parts of the recipe: {bad}"
            ))),
        }
    }

    /// Reports a heartbeat when the last is [`HEARTBEAT`] old (from the meeting loop, and
    /// while steps wait, so long join steps do not look like a dead bot).
    async fn beat(&mut self) {
        if self.last_beat.is_none_or(|at| at.elapsed() >= HEARTBEAT) {
            self.last_beat = Some(Instant::now());
            self.reporter.heartbeat().await;
        }
    }

    /// Handles capture events for `wait` (while a step waits), watching for a crash.
    async fn pump(&mut self, wait: Duration) -> Result<(), End> {
        let until = Instant::now() + wait;
        loop {
            self.beat().await;
            tokio::select! {
                () = tokio::time::sleep_until(until) => return Ok(()),
                () = self.browser.closed() => return Err(End::crashed()),
                event = self.capture.next() => match event {
                    Some(event) => self.on_capture(event).await?,
                    None => return Err(End::crashed()),
                },
            }
        }
    }

    /// The meeting loop, from asking to join to the end.
    pub(super) async fn attend(&mut self) -> End {
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let step = tokio::select! {
                () = self.browser.closed() => Err(End::crashed()),
                event = self.capture.next() => match event {
                    Some(event) => self.on_capture(event).await,
                    None => Err(End::crashed()),
                },
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.on_command(command).await,
                    None => {
                        self.commands_open = false;
                        Ok(())
                    }
                },
                _ = poll.tick() => {
                    self.beat().await;
                    self.poll().await
                }
            };
            if let Err(end) = step {
                return end;
            }
        }
    }

    async fn on_command(&mut self, command: Command) -> Result<(), End> {
        match command {
            Command::Leave(code) => Err(End::Leave(code)),
            Command::SendChat(message) => {
                if !matches!(self.phase, Some(Phase::In { .. })) {
                    tracing::warn!("a chat message was asked for before admission: not sent");
                    return Ok(());
                }
                match self.send_chat(&message).await {
                    Err(End::UiChanged(why)) => {
                        // The meeting goes on; the failure is the server's to see in the log.
                        tracing::warn!(%why, "sending a chat message failed");
                        Ok(())
                    }
                    other => other,
                }
            }
        }
    }

    async fn send_chat(&mut self, message: &str) -> Result<(), End> {
        self.open_chat().await?;
        let steps = self.recipe.chat_send_steps(message);
        self.run_steps("chat send", &steps).await
    }

    /// Opens the chat panel when its detector says it is closed.
    async fn open_chat(&mut self) -> Result<(), End> {
        let panel = self.recipe.detector_js(DetectorKind::ChatPanel);
        let open = self
            .page
            .evaluate(&panel)
            .await
            .map_err(|e| End::from_error(&e, "looking for the chat panel"))?;
        if !is_true(&open) {
            let steps = self.recipe.chat_open_steps();
            self.run_steps("chat open", &steps).await?;
        }
        Ok(())
    }

    /// One look at the page: where the bot stands, then (admitted) who is there and what
    /// was said, then the leave rules.
    async fn poll(&mut self) -> Result<(), End> {
        let states = match self.page.evaluate(&self.detectors).await {
            Ok(states) => states,
            Err(crate::BotError::BrowserClosed(_)) => return Err(End::crashed()),
            Err(e) => {
                tracing::debug!(error = %e, "detectors could not run (navigating?)");
                Value::Null
            }
        };
        let found = DetectorKind::STATE_ORDER
            .iter()
            .zip(states.as_array().into_iter().flatten())
            .find(|(_, on)| is_true(on))
            .map(|(kind, _)| *kind);
        let now = Instant::now();
        let phase = self.phase.unwrap_or(Phase::Asking { since: now });
        match found {
            Some(DetectorKind::MeetingNotFound) => {
                return Err(End::Platform(sub_code::MEETING_NOT_FOUND));
            }
            Some(DetectorKind::Denied) => return Err(End::Platform(sub_code::ADMISSION_DENIED)),
            Some(DetectorKind::Removed) => return Err(End::Platform(sub_code::REMOVED_BY_HOST)),
            Some(DetectorKind::MeetingEnded) => {
                return Err(End::Platform(sub_code::MEETING_ENDED));
            }
            Some(DetectorKind::Admitted) => {
                self.lost_since = None;
                if !matches!(phase, Phase::In { .. }) {
                    self.admitted().await?;
                }
            }
            Some(DetectorKind::WaitingRoom | DetectorKind::ChatPanel) | None => match phase {
                Phase::Asking { .. } if found == Some(DetectorKind::WaitingRoom) => {
                    self.phase = Some(Phase::Lobby { since: now });
                    self.reporter.transition(BotState::WaitingRoom, None).await;
                }
                Phase::Asking { since } if now - since > UI_GRACE => {
                    return Err(End::UiChanged(
                        "neither the waiting room nor the meeting appeared after joining".into(),
                    ));
                }
                Phase::Lobby { since } => {
                    if let Some(limit) = self.spec.automatic_leave.waiting_room_timeout
                        && now - since >= limit
                    {
                        return Err(End::Leave(sub_code::WAITING_ROOM_TIMEOUT));
                    }
                }
                Phase::In { .. } => {
                    let since = *self.lost_since.get_or_insert(now);
                    if now - since > UI_GRACE {
                        return Err(End::UiChanged(
                            "the meeting page no longer shows the bot in the meeting".into(),
                        ));
                    }
                }
                Phase::Asking { .. } => {}
            },
        }
        if let Some(Phase::In { since }) = self.phase {
            self.scrape().await?;
            self.leave_rules(since, now)?;
        }
        Ok(())
    }

    /// Admitted: report it, post the consent message, then record.
    async fn admitted(&mut self) -> Result<(), End> {
        self.reporter.transition(BotState::Joined, None).await;
        if let Some(message) = self.spec.consent_message.clone() {
            self.send_chat(&message).await.map_err(|end| match end {
                End::UiChanged(why) => {
                    End::UiChanged(format!("the consent message could not be posted: {why}"))
                }
                other => other,
            })?;
        } else {
            match self.open_chat().await {
                // Without a consent message the chat is only read: the meeting goes on.
                Err(End::UiChanged(why)) => {
                    tracing::warn!(%why, "the chat panel could not be opened");
                }
                other => other?,
            }
        }
        let now = Instant::now();
        self.phase = Some(Phase::In { since: now });
        self.alone_since = Some(now);
        self.last_sound = Some(now);
        self.reporter.transition(BotState::Recording, None).await;
        Ok(())
    }

    fn leave_rules(&self, since: Instant, now: Instant) -> Result<(), End> {
        let seen = Seen {
            admitted: since,
            seen_others: self.seen_others,
            alone_since: self.alone_since,
            last_sound: self.last_sound,
        };
        match leave_rule(&self.spec.automatic_leave, &seen, now) {
            Some(code) => Err(End::Leave(code)),
            None => Ok(()),
        }
    }

    /// Participants, chat and active speakers, as the page shows them now.
    async fn scrape(&mut self) -> Result<(), End> {
        let seen = match self.page.evaluate(&self.scrape).await {
            Ok(seen) => seen,
            Err(crate::BotError::BrowserClosed(_)) => return Err(End::crashed()),
            Err(e) => {
                tracing::debug!(error = %e, "the scrape could not run");
                return Ok(());
            }
        };
        let listed = seen["participants"]
            .as_array()
            .is_some_and(|l| !l.is_empty());
        if !listed && !self.recipe.file().participants.open.is_empty() {
            self.open_participants().await?;
        }
        self.update_participants(&seen["participants"]).await;
        self.map_tracks().await;
        for message in seen["chat"].as_array().into_iter().flatten() {
            self.on_chat(message).await;
        }
        if let Some(ids) = seen["speakers"].as_array() {
            let ids: Vec<String> = ids
                .iter()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .filter(|id| Some(id) != self.self_id.as_ref() && !self.opted_out.contains(id))
                .collect();
            if ids != self.speakers {
                self.speakers = ids.clone();
                self.reporter
                    .event(BotEvent::ActiveSpeakers {
                        participant_ids: ids,
                    })
                    .await;
            }
        }
        Ok(())
    }

    /// Runs the recipe's steps that open the participant list (the list shows nobody, not
    /// even the bot), at most every [`UI_GRACE`]; failing is not fatal.
    async fn open_participants(&mut self) -> Result<(), End> {
        if self
            .participants_opened
            .is_some_and(|at| at.elapsed() < UI_GRACE)
        {
            return Ok(());
        }
        self.participants_opened = Some(Instant::now());
        let steps = self.recipe.participants_open_steps();
        match self.run_steps("participants open", &steps).await {
            Err(End::UiChanged(why)) => {
                tracing::warn!(%why, "the participant list could not be opened");
                Ok(())
            }
            other => other,
        }
    }

    fn stop(&mut self, key: &TrackKey) {
        self.capture.stop_track(key);
        self.pieces.discard(key);
    }

    fn is_stopped(&self, key: &TrackKey) -> bool {
        self.tracks
            .get(key)
            .and_then(|t| t.participant.as_ref())
            .is_some_and(|p| self.opted_out.contains(p))
    }

    async fn on_capture(&mut self, event: CaptureEvent) -> Result<(), End> {
        match event {
            CaptureEvent::TrackStarted {
                track, stream_id, ..
            } => {
                self.tracks_started += 1;
                self.tracks.insert(
                    track,
                    Track {
                        stream_id,
                        participant: None,
                        started: self.tracks_started,
                    },
                );
                self.map_tracks().await;
            }
            CaptureEvent::Audio(chunk) => {
                // Nothing is kept before the consent message is posted, nor of an opt-out.
                if !matches!(self.phase, Some(Phase::In { .. })) || self.is_stopped(&chunk.track) {
                    return Ok(());
                }
                if rms(&chunk.pcm16k) > SILENCE_RMS {
                    self.last_sound = Some(Instant::now());
                }
                let pieces = self.pieces.push(chunk);
                self.report(pieces).await;
            }
            CaptureEvent::TrackEnded { track, stats } => {
                if !self.is_stopped(&track) {
                    let last = self.pieces.flush(&track);
                    self.report(last.into_iter().collect()).await;
                }
                self.stats.insert(track.clone(), stats);
                self.reporter
                    .event(BotEvent::TrackEnded {
                        track,
                        samples_expected: stats.samples_expected,
                        samples_received: stats.samples_received,
                    })
                    .await;
            }
            CaptureEvent::ScriptError { track, message } => {
                tracing::warn!(track = ?track.as_ref().map(ToString::to_string), %message, "the capture script failed");
                if track.is_none() && message.contains("MediaStreamTrackProcessor") {
                    return Err(End::Fatal(sub_code::CAPTURE_FAILED, message));
                }
            }
        }
        Ok(())
    }

    async fn report(&mut self, pieces: Vec<Piece>) {
        if !self.spec.recording.per_speaker_audio {
            return;
        }
        for piece in pieces {
            self.reporter
                .audio(&piece.track, piece.seq, piece.start_ms, piece.pcm16k)
                .await;
        }
    }

    /// Leaves (when the bot chose to), keeps a diagnosis (when the page failed it), closes
    /// the browser, reports the last audio and the final state.
    pub(super) async fn finish(mut self, end: End) -> Outcome {
        let (state, code, detail) = match &end {
            End::Platform(code) | End::Leave(code) => (BotState::Ended, *code, None),
            // Named with the recipe and its version, as docs/recipes.md promises.
            End::UiChanged(why) => (
                BotState::FatalError,
                sub_code::PLATFORM_UI_CHANGED,
                Some(format!(
                    "recipe {} version {}: {why}",
                    self.recipe.name(),
                    self.recipe.file().version
                )),
            ),
            End::Fatal(code, why) => (BotState::FatalError, *code, Some(why.clone())),
        };
        match &end {
            End::Leave(code) => {
                self.reporter
                    .transition(BotState::Leaving, Some(code))
                    .await;
                let steps = self.recipe.leave_steps();
                if let Err(e) = self.run_steps("leave", &steps).await {
                    tracing::warn!(?e, "the leave steps failed; closing the browser");
                }
            }
            End::UiChanged(_) => {
                let screenshot_png = self.page.screenshot().await.unwrap_or_default();
                let dom_html = self.page.dom_snapshot().await.unwrap_or_default();
                self.reporter
                    .event(BotEvent::Diagnosis {
                        reason: detail.clone().unwrap_or_default(),
                        screenshot_png,
                        dom_html,
                    })
                    .await;
            }
            End::Platform(_) | End::Fatal(..) => {}
        }
        // Closing the tab ends every track; what they delivered is still reported.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.page.close()).await;
        let drain = Instant::now() + Duration::from_secs(5);
        while let Ok(Some(event)) = tokio::time::timeout_at(drain, self.capture.next()).await {
            let _ = self.on_capture(event).await;
        }
        let mut last = self.pieces.flush_all();
        last.retain(|p| !self.is_stopped(&p.track));
        self.report(last).await;
        for (key, stats) in self.capture.stats() {
            self.stats.entry(key).or_insert(stats);
        }
        self.browser.close().await;
        if let Some(detail) = &detail {
            tracing::warn!(sub_code = code, %detail, "the bot failed");
        }
        self.reporter.transition(state, Some(code)).await;
        Outcome {
            state,
            sub_code: code,
            detail,
            tracks: self.stats,
        }
    }
}
