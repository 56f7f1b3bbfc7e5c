//! From events to bots: each event is decided by its person's rules (and their choice for it),
//! stored sealed, and the meetings wanted get one bot per meeting and workspace — the first
//! calendar that wants it schedules it, colleagues invited to the same meeting share it, a
//! moved meeting moves its bot, and a bot nobody's calendar wants any more is cancelled while
//! it still waits to join.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use meetvault_calendar::{Event, Override, Platform, Reason, Rules, decide, dedupe_key};
use meetvault_crypto::envelope;
use meetvault_crypto::keys::SymmetricKey;
use meetvault_store::calendar::{CalendarBotRow, CalendarConnectionRow, CalendarEventRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EventChoice;
use crate::access::Actor;
use crate::audit::{AuditAction, Event as AuditEvent, Outcome};
use crate::bots::{BotState, NewBot, SubCode};
use crate::ids::{BotId, OrgId};
use crate::vault::{bind, key_ref};
use crate::{Core, CoreError};

/// The name a calendar's bot shows in the meeting unless its person chose another.
pub(crate) const DEFAULT_BOT_NAME: &str = "meetvault notetaker";

/// What is sealed per event: the event (without its description: the link was found in it
/// already) and its id, so a row's data cannot be swapped with another event's.
#[derive(Serialize, Deserialize)]
struct Stored {
    event_id: String,
    event: Event,
}

pub(crate) fn platform_str(p: Platform) -> &'static str {
    match p {
        Platform::GoogleMeet => "google_meet",
        Platform::Zoom => "zoom",
        Platform::Teams => "teams",
    }
}

fn reason_str(r: Reason) -> &'static str {
    match r {
        Reason::Cancelled => "cancelled",
        Reason::NoConferenceLink => "no_conference_link",
        Reason::OverrideNever => "override_never",
        Reason::OverrideAlways => "override_always",
        Reason::Declined => "declined",
        Reason::AllDay => "all_day",
        Reason::KeywordExcluded => "keyword_excluded",
        Reason::DomainExcluded => "domain_excluded",
        Reason::NotOrganizer => "not_organizer",
        Reason::NoExternalAttendee => "no_external_attendee",
        Reason::Matched => "matched",
    }
}

fn binding(row: &CalendarEventRow) -> meetvault_crypto::envelope::Binding<'static> {
    bind(row.org_id, "calendar_events", row.connection_id, "data")
}

pub(crate) fn open_event(key: &SymmetricKey, row: &CalendarEventRow) -> Result<Event, CoreError> {
    let plain = envelope::decrypt(key, &binding(row), &row.data)
        .map_err(crate::vault::integrity("a calendar event"))?;
    let stored: Stored = serde_json::from_slice(&plain)
        .map_err(|e| CoreError::Integrity(format!("a calendar event: {e}")))?;
    if stored.event_id != row.event_id {
        return Err(CoreError::Integrity(
            "a calendar event's data belongs to another event".into(),
        ));
    }
    Ok(stored.event)
}

/// What decides a connection's events.
pub(crate) struct Decider {
    email: String,
    auto_join: bool,
    rules: Rules,
}

/// One stored event before and after a change.
pub(crate) struct Applied {
    pub(crate) old: Option<(CalendarEventRow, Option<String>)>,
    pub(crate) new: Option<(CalendarEventRow, Option<String>)>,
}

impl Core {
    pub(crate) async fn calendar_decider(
        &self,
        conn: &CalendarConnectionRow,
    ) -> Result<Decider, CoreError> {
        let user = self
            .db()
            .user(conn.org_id, conn.user_id)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        let mine = self.calendar_user_rules(conn.org_id, conn.user_id).await?;
        let ws = self
            .calendar_workspace_rules(conn.org_id, conn.workspace_id)
            .await?;
        let org = OrgId::from(conn.org_id).to_string();
        let mut own_domains: Vec<String> = self
            .config()
            .sso
            .domains
            .iter()
            .filter(|d| d.org == org)
            .map(|d| d.domain.clone())
            .collect();
        if let Some(domain) = meetvault_calendar::event::email_domain(&user.email) {
            own_domains.push(domain);
        }
        let mut never_keywords = ws.never_keywords;
        never_keywords.extend(mine.never_keywords);
        let mut never_domains = ws.never_domains;
        never_domains.extend(mine.never_domains);
        Ok(Decider {
            email: user.email,
            auto_join: mine.auto_join,
            rules: Rules {
                mode: mine.mode.unwrap_or(ws.mode).into(),
                never_keywords,
                never_domains,
                own_domains,
            },
        })
    }

    /// The name of a meeting across calendars in one workspace: an HMAC of the meeting's
    /// identity and start, so the table never holds the link.
    fn calendar_bot_key(&self, org: Uuid, workspace: Uuid, dedupe: &str) -> String {
        let mut msg = Vec::with_capacity(32 + dedupe.len());
        msg.extend_from_slice(org.as_bytes());
        msg.extend_from_slice(workspace.as_bytes());
        msg.extend_from_slice(dedupe.as_bytes());
        let key = SymmetricKey::from_bytes(meetvault_crypto::keys::hmac_sha256(
            &self.keys().csrf,
            b"meetvault calendar meeting key v1",
        ));
        hex::encode(meetvault_crypto::keys::hmac_sha256(&key, &msg))
    }

    /// Decides `event` for `conn` and stores it; answers the row before and after, with each
    /// one's meeting identity (for telling a moved meeting from another one).
    pub(crate) async fn store_calendar_event(
        &self,
        conn: &CalendarConnectionRow,
        key: &SymmetricKey,
        decider: &Decider,
        mut event: Event,
        now: DateTime<Utc>,
    ) -> Result<Applied, CoreError> {
        let old = self.calendar_event_with_link(conn, key, &event.id).await?;
        let choice = self
            .db()
            .calendar_choice(conn.id, &event.id)
            .await?
            .as_deref()
            .and_then(EventChoice::parse);
        let override_ = choice.map(|c| match c {
            EventChoice::Always => Override::Always,
            EventChoice::Never => Override::Never,
        });
        let d = decide(&event, &decider.email, &decider.rules, override_);
        let (mut record, mut reason) = (d.record, reason_str(d.reason));
        let (start, end) = (event.start.instant(), event.end.instant());
        if record && !decider.auto_join && override_ != Some(Override::Always) {
            (record, reason) = (false, "auto_join_off");
        }
        if record && end <= now {
            (record, reason) = (false, "ended");
        }
        let bot_key =
            dedupe_key(&event).map(|k| self.calendar_bot_key(conn.org_id, conn.workspace_id, &k));
        let link = event.conference.as_ref().map(|c| c.key.clone());
        event.description.clear();
        let mut row = CalendarEventRow {
            connection_id: conn.id,
            event_id: event.id.clone(),
            org_id: conn.org_id,
            workspace_id: conn.workspace_id,
            data: Vec::new(),
            start_at: start.timestamp_millis(),
            end_at: end.timestamp_millis(),
            bot_key,
            record,
            reason: reason.to_owned(),
            updated_at: now.timestamp_millis(),
        };
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&Stored {
                event_id: event.id.clone(),
                event,
            })
            .map_err(CoreError::internal)?,
        );
        row.data = envelope::encrypt(key, key_ref(conn.user_id, 1), &binding(&row), &plain);
        self.db().put_calendar_event(&row).await?;
        Ok(Applied {
            old,
            new: Some((row, link)),
        })
    }

    async fn calendar_event_with_link(
        &self,
        conn: &CalendarConnectionRow,
        key: &SymmetricKey,
        event_id: &str,
    ) -> Result<Option<(CalendarEventRow, Option<String>)>, CoreError> {
        match self
            .db()
            .calendar_event(conn.org_id, conn.id, event_id)
            .await?
        {
            Some(row) => {
                let link = open_event(key, &row)?.conference.map(|c| c.key);
                Ok(Some((row, link)))
            }
            None => Ok(None),
        }
    }

    /// Forgets one event (deleted, or gone from the window).
    pub(crate) async fn remove_calendar_event(
        &self,
        conn: &CalendarConnectionRow,
        key: &SymmetricKey,
        event_id: &str,
    ) -> Result<Applied, CoreError> {
        let old = self.calendar_event_with_link(conn, key, event_id).await?;
        if old.is_some() {
            self.db()
                .delete_calendar_event(conn.org_id, conn.id, event_id)
                .await?;
        }
        Ok(Applied { old, new: None })
    }

    /// Brings the bots in line with what was applied: moved meetings take their waiting bot
    /// along, then every meeting touched gets a bot if some calendar wants one and has none, or
    /// loses its waiting bot if nobody wants it any more.
    pub(crate) async fn schedule_calendar_changes(
        &self,
        conn: &CalendarConnectionRow,
        applied: &[Applied],
    ) -> Result<(), CoreError> {
        let actor = Actor::Calendar(conn.id.into());
        let mut keys = BTreeSet::new();
        for a in applied {
            for (row, _) in a.old.iter().chain(a.new.iter()) {
                if let Some(k) = &row.bot_key {
                    keys.insert(k.clone());
                }
            }
            if let (Some((old, old_link)), Some((new, new_link))) = (&a.old, &a.new)
                && old.record
                && new.record
                && old_link.is_some()
                && old_link == new_link
                && let (Some(from), Some(to)) = (&old.bot_key, &new.bot_key)
                && from != to
            {
                self.move_calendar_bot(conn, from, to, new).await?;
            }
        }
        let keys: Vec<String> = keys.into_iter().collect();
        self.reconcile_calendar_keys(conn.org_id, conn.workspace_id, &keys, actor)
            .await
    }

    /// A moved meeting: its bot, if it still waits and nobody else's calendar holds the old
    /// time, moves to the new time.
    async fn move_calendar_bot(
        &self,
        conn: &CalendarConnectionRow,
        from: &str,
        to: &str,
        new: &CalendarEventRow,
    ) -> Result<(), CoreError> {
        let (org, ws) = (conn.org_id, conn.workspace_id);
        if self
            .db()
            .calendar_key_wanted(org, ws, from)
            .await?
            .is_some()
            || self.db().calendar_bot(org, ws, to).await?.is_some()
        {
            return Ok(());
        }
        let Some(claim) = self.db().calendar_bot(org, ws, from).await? else {
            return Ok(());
        };
        let start = super::ms(new.start_at);
        let join_at = self.calendar_join_at(start);
        let now = Utc::now().timestamp_millis();
        if !self
            .db()
            .reschedule_bot(org, claim.bot_id, join_at, start, now)
            .await?
        {
            return Ok(());
        }
        self.db()
            .rekey_calendar_bot(org, ws, from, to, new.start_at)
            .await?;
        if let Some(at) = join_at {
            self.enqueue_bot_launch(org, claim.bot_id, at).await?;
        }
        self.inner.bots.poke();
        Ok(())
    }

    /// When a bot for a meeting starting at `start` joins: `join_early_secs` before, or now
    /// (`None`) if that has passed.
    fn calendar_join_at(&self, start: DateTime<Utc>) -> Option<i64> {
        let early = i64::try_from(self.config().calendar.join_early_secs).unwrap_or(0);
        let at = start - TimeDelta::seconds(early);
        (at > Utc::now()).then(|| at.timestamp_millis())
    }

    pub(crate) async fn reconcile_calendar_keys(
        &self,
        org: Uuid,
        workspace: Uuid,
        keys: &[String],
        actor: Actor,
    ) -> Result<(), CoreError> {
        for key in keys {
            let wanted = self.db().calendar_key_wanted(org, workspace, key).await?;
            let have = self.db().calendar_bot(org, workspace, key).await?;
            match (wanted, have) {
                (Some((conn, event)), None) => {
                    // One meeting failing (a person who may no longer send bots, a locked key)
                    // must not stop the others.
                    if let Err(e) = self
                        .schedule_calendar_bot(org, workspace, key, conn, &event)
                        .await
                    {
                        tracing::warn!(error = %e, "a calendar could not schedule a bot");
                    }
                }
                (None, Some(claim)) => {
                    self.cancel_calendar_bot(org, claim.bot_id, actor).await?;
                    self.db().release_calendar_bot(org, workspace, key).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn schedule_calendar_bot(
        &self,
        org: Uuid,
        workspace: Uuid,
        key: &str,
        conn_id: Uuid,
        event_id: &str,
    ) -> Result<(), CoreError> {
        let conn = self
            .db()
            .calendar_connection(org, conn_id)
            .await?
            .ok_or(CoreError::NotFound("calendar connection"))?;
        let scope = self.calendar_scope(org, conn_id).await?;
        let user_key = self.user_key(org, conn.user_id).await?;
        let row = self
            .db()
            .calendar_event(org, conn_id, event_id)
            .await?
            .ok_or(CoreError::NotFound("calendar event"))?;
        let event = open_event(&user_key, &row)?;
        let Some(link) = &event.conference else {
            return Ok(());
        };
        let start = event.start.instant();
        let title = event.title.trim();
        let new = NewBot {
            meeting_url: link.url.to_string(),
            bot_name: DEFAULT_BOT_NAME.to_owned(),
            title: Some(if title.is_empty() {
                "Meeting".into()
            } else {
                title.chars().take(200).collect()
            }),
            join_at: self.calendar_join_at(start).map(super::ms),
            workspace_id: Some(workspace.into()),
            post_consent: true,
            metadata: [("source".to_owned(), "calendar".to_owned())].into(),
            ..NewBot::default()
        };
        let bot = self.bots().create(&scope, &new).await?;
        let claimed = self
            .db()
            .claim_calendar_bot(&CalendarBotRow {
                org_id: org,
                workspace_id: workspace,
                bot_key: key.to_owned(),
                bot_id: bot.summary.id.uuid(),
                start_at: start.timestamp_millis(),
                created_at: Utc::now().timestamp_millis(),
            })
            .await?;
        if !claimed {
            // Another sync scheduled this meeting's bot at the same moment: one is enough.
            self.cancel_calendar_bot(org, bot.summary.id.uuid(), scope.actor())
                .await?;
        }
        Ok(())
    }

    /// Cancels a calendar's bot while it still waits to join; one already in its meeting
    /// stays (the person ends it from the meeting or the API).
    async fn cancel_calendar_bot(
        &self,
        org: Uuid,
        bot: Uuid,
        actor: Actor,
    ) -> Result<(), CoreError> {
        let Some(row) = self.db().bot(org, bot).await? else {
            return Ok(());
        };
        if crate::bots::state_of(&row)? != BotState::Scheduled || row.launched_at.is_some() {
            return Ok(());
        }
        if self
            .move_bot(row.id, BotState::Ended, Some(SubCode::CANCELLED), actor)
            .await?
            == Some(BotState::Ended)
        {
            let mut e = AuditEvent::new(AuditAction::BotCancel, actor, Outcome::Success)
                .resource(BotId::from(bot))
                .reason("calendar");
            e.org_id = Some(org.into());
            self.audit(e).await?;
        }
        Ok(())
    }

    /// Decides one stored event again (its person's choice changed) and applies it.
    pub(crate) async fn redecide_calendar_event(
        &self,
        conn: &CalendarConnectionRow,
        event_id: &str,
    ) -> Result<(), CoreError> {
        let key = self.user_key(conn.org_id, conn.user_id).await?;
        let Some(row) = self
            .db()
            .calendar_event(conn.org_id, conn.id, event_id)
            .await?
        else {
            return Ok(());
        };
        let mut event = open_event(&key, &row)?;
        event.id = row.event_id.clone();
        let decider = self.calendar_decider(conn).await?;
        let applied = self
            .store_calendar_event(conn, &key, &decider, event, Utc::now())
            .await?;
        self.schedule_calendar_changes(conn, &[applied]).await
    }
}
