//! From a finished summary to proposals. Each instance reads the outbox of orgs with a
//! connection every `integrations.poll_ms`; a `summary.ready` queues one `integrations.propose`
//! job per connection that hears of the meeting (its workspace, its owner, or the whole org),
//! before the org's cursor moves compare-and-set (a crash in between queues the same job again,
//! which is harmless: a waiting identical job is reused, and proposals are unique per
//! connection). The job opens the meeting's summary, builds what the connection takes — the
//! summary as Markdown, each action item as a task with its owner's address, a due date and a
//! link to the moment — redacts personal data when the connection asks, seals each under the
//! meeting's key and stores them waiting for approval or queued. Only the summary and action
//! items ever leave: never transcript text.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};
use meetvault_integrations::item::plausible_email;
use meetvault_integrations::{Item, Kind, Summary, Task};
use meetvault_jobs::{Handler, Job, JobContext, JobError, NewJob};
use meetvault_store::integrations::{IntegrationRow, ItemRow};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use uuid::Uuid;

use super::kind_of;
use crate::ids::MeetingId;
use crate::intel::SummaryContent;
use crate::{Core, CoreError};

/// The proposal job's kind.
pub const PROPOSE_KIND: &str = "integrations.propose";

/// Outbox events read per org and round.
const PAGE: i64 = 200;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Payload {
    pub integration: Uuid,
    pub meeting: Uuid,
}

impl Core {
    pub(crate) fn spawn_integrations(&self) {
        let every = Duration::from_millis(self.config().integrations.poll_ms.max(1));
        crate::sweepers::spawn_every(
            std::sync::Arc::downgrade(&self.inner),
            every,
            |core| async move {
                if let Err(e) = core.fan_out_integrations().await {
                    tracing::warn!(error = %e, "reading the outbox for integrations failed");
                }
            },
        );
    }

    /// Reads each org's new events once; queues the proposals they make.
    pub(crate) async fn fan_out_integrations(&self) -> Result<(), CoreError> {
        for (org, cursor) in self.db().integration_cursors().await? {
            let rows = self.db().events_after(org, None, cursor, PAGE).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                continue;
            };
            let connections: Vec<IntegrationRow> = self
                .db()
                .integrations(org)
                .await?
                .into_iter()
                .filter(|c| c.enabled && (c.on_summary || c.on_action_items))
                .collect();
            for row in rows.iter().filter(|r| r.kind == "summary.ready") {
                let Some(meeting) = row.resource_id else {
                    continue;
                };
                let Some(m) = self.db().meeting(org, meeting).await? else {
                    continue;
                };
                for c in &connections {
                    let hears = c.created_at <= row.created_at
                        && c.workspace_id.is_none_or(|w| w == m.workspace_id)
                        && c.user_id.is_none_or(|u| u == m.owner_id);
                    if hears {
                        self.queue()
                            .enqueue(NewJob {
                                org_id: Some(org),
                                kind: PROPOSE_KIND,
                                payload: serde_json::to_value(Payload {
                                    integration: c.id,
                                    meeting,
                                })
                                .map_err(CoreError::internal)?,
                                resource_id: Some(meeting),
                            })
                            .await
                            .map_err(crate::jobs_error)?;
                    }
                }
            }
            self.db().move_integration_cursor(org, cursor, last).await?;
        }
        Ok(())
    }

    async fn propose(&self, job: &Job) -> Result<(), JobError> {
        let p: Payload = serde_json::from_str(&job.payload)
            .map_err(|_| JobError::Permanent("the payload is not a proposal".into()))?;
        let org = job
            .org_id
            .ok_or_else(|| JobError::Permanent("the job names no org".into()))?;
        let Some(c) = self
            .db()
            .integration(org, p.integration)
            .await
            .map_err(retry)?
        else {
            return Ok(()); // Disconnected meanwhile: nothing to propose.
        };
        let kind = kind_of(&c).map_err(to_job)?;
        let items = self
            .build_items(org, p.meeting, &c, kind)
            .await
            .map_err(to_job)?;
        let now = meetvault_jobs::now_ms();
        let mut rows = Vec::with_capacity(items.len());
        for (dedupe, item) in items {
            let id = Uuid::new_v4();
            rows.push(ItemRow {
                id,
                org_id: org,
                integration_id: c.id,
                meeting_id: p.meeting,
                kind: match item {
                    Item::Summary(_) => "summary".into(),
                    Item::Task(_) => "task".into(),
                },
                dedupe,
                state: if c.approval {
                    "awaiting_approval"
                } else {
                    "queued"
                }
                .into(),
                payload: self
                    .seal_item(org, p.meeting, id, &item)
                    .await
                    .map_err(to_job)?,
                attempts: 0,
                last_error: None,
                external_id: None,
                external_url: None,
                decided_by: None,
                decided_at: None,
                edited: false,
                created_at: now,
                updated_at: now,
            });
        }
        self.db()
            .propose_integration_items(&rows)
            .await
            .map_err(retry)?;
        self.enqueue_queued_items(org, c.id, None)
            .await
            .map_err(to_job)?;
        Ok(())
    }

    /// What `c` receives of a meeting's summary, each with its dedupe key (the meeting and the
    /// summary, or the meeting and the action item's words: a regenerated summary proposes only
    /// what is new).
    async fn build_items(
        &self,
        org: Uuid,
        meeting: Uuid,
        c: &IntegrationRow,
        kind: Kind,
    ) -> Result<Vec<(String, Item)>, CoreError> {
        let m = self
            .db()
            .meeting(org, meeting)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        if self.zero_access_owner(org, m.owner_id).await? {
            // Zero-access content is its owner's alone: nothing of it is proposed.
            return Ok(Vec::new());
        }
        let keys = self.meeting_read_keys(org, m.id, m.owner_id).await?;
        let Some(intel) = self.db().meeting_intel(org, m.id).await? else {
            return Err(CoreError::NotFound("summary"));
        };
        // The stored summary as a non-owner reads it: placeholders stay where the model read
        // a redacted transcript.
        let summary = self
            .open_summary(&intel, &keys)?
            .ok_or(CoreError::NotFound("summary"))?
            .summary;
        let title = keys.text(org, "meetings", m.id, "title", &m.title)?;
        let mut people = Vec::new();
        for p in self.db().participants(org, m.id).await? {
            let name = keys.text(org, "meeting_participants", p.id, "name", &p.name)?;
            let email = p
                .email
                .as_deref()
                .map(|e| keys.text(org, "meeting_participants", p.id, "email", e))
                .transpose()?;
            people.push((name, email));
        }
        let link = meeting_link(self, MeetingId::from(m.id));
        let redact = |text: &str| -> String {
            if c.redact_pii {
                let detector = self.inner.intel.detector();
                meetvault_intel::pii::Mapping::new().redact(&detector, text)
            } else {
                text.to_owned()
            }
        };
        let day = m.started_at.unwrap_or(m.created_at).date_naive();
        let mut out = Vec::new();
        if c.on_summary && kind.takes_summaries() {
            out.push((
                format!("{meeting}:summary"),
                Item::Summary(Summary {
                    title: bounded_title(&redact(&title)),
                    markdown: redact(&markdown(&summary)),
                    link: link.clone(),
                    attendee_emails: people
                        .iter()
                        .filter_map(|(_, e)| e.clone())
                        .filter(|e| plausible_email(e))
                        .collect(),
                }),
            ));
        }
        if c.on_action_items && kind.takes_tasks() {
            for a in &summary.action_items {
                let owner_email = a.owner.as_deref().and_then(|o| {
                    if plausible_email(o) {
                        return Some(o.to_owned());
                    }
                    people
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(o.trim()))
                        .and_then(|(_, e)| e.clone())
                        .filter(|e| plausible_email(e))
                });
                let at = a.start_ms.map(|ms| ms / 1000);
                let moment = at.map_or_else(|| link.clone(), |s| format!("{link}?t={s}"));
                let mut notes = format!("From the meeting \"{}\"", redact(&title));
                if let Some(o) = &a.owner {
                    let _ = write!(notes, ", said by {}", redact(o));
                }
                if let Some(s) = at {
                    let _ = write!(notes, " at {:02}:{:02}", s / 60, s % 60);
                }
                if let Some(d) = &a.due {
                    let _ = write!(notes, " (due: {})", redact(d));
                }
                notes.push_str(".\n");
                notes.push_str(&moment);
                let digest = sha2::Sha256::digest(a.task.trim().to_lowercase().as_bytes());
                out.push((
                    format!("{meeting}:task:{}", &hex::encode(digest)[..24]),
                    Item::Task(Task {
                        title: bounded_title(&redact(&a.task)),
                        notes,
                        owner_email,
                        due: a.due.as_deref().and_then(|d| due_date(d, day)),
                        link: moment,
                    }),
                ));
            }
        }
        Ok(out)
    }

    /// Queues a send for every queued item of a connection (only `only` when given); a waiting
    /// identical send is reused.
    pub(crate) async fn enqueue_queued_items(
        &self,
        org: Uuid,
        integration: Uuid,
        only: Option<Uuid>,
    ) -> Result<(), CoreError> {
        let items = self
            .db()
            .integration_items(org, Some(integration), Some("queued"), 1000)
            .await?;
        for i in items.iter().filter(|i| only.is_none_or(|o| o == i.id)) {
            self.queue()
                .enqueue(NewJob {
                    org_id: Some(org),
                    kind: super::SEND_KIND,
                    payload: serde_json::json!({"item": i.id}),
                    resource_id: Some(i.id),
                })
                .await
                .map_err(crate::jobs_error)?;
        }
        Ok(())
    }
}

/// The dashboard's page of a meeting.
pub(super) fn meeting_link(core: &Core, id: MeetingId) -> String {
    let base = core.config().server.public_url.as_ref().map_or_else(
        || format!("http://{}", core.config().server.listen),
        |u| u.as_str().trim_end_matches('/').to_owned(),
    );
    format!("{base}/meetings/{id}")
}

fn bounded_title(t: &str) -> String {
    let t = t.trim();
    let t = if t.is_empty() { "Meeting" } else { t };
    meetvault_integrations::call::bounded(t, 200)
}

/// The summary as Markdown: overview, key points, decisions, action items.
pub(crate) fn markdown(s: &SummaryContent) -> String {
    let one = |t: &str| t.replace(['\n', '\r'], " ");
    let mut out = String::new();
    if !s.overview.trim().is_empty() {
        let _ = writeln!(out, "## Overview\n{}\n", one(&s.overview));
    }
    for (title, list) in [("Key points", &s.key_points), ("Decisions", &s.decisions)] {
        if !list.is_empty() {
            let _ = writeln!(out, "## {title}");
            for p in list {
                let _ = writeln!(out, "- {}", one(&p.text));
            }
            out.push('\n');
        }
    }
    if !s.action_items.is_empty() {
        let _ = writeln!(out, "## Action items");
        for a in &s.action_items {
            let mut line = format!("- {}", one(&a.task));
            if let Some(o) = &a.owner {
                let _ = write!(line, " — **{}**", one(o));
            }
            if let Some(d) = &a.due {
                let _ = write!(line, " (due {})", one(d));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    out.trim_end().to_owned()
}

/// A due date from how it was said, relative to the meeting's day: an ISO date, `today`,
/// `tomorrow`, `end of day`/`EOD`, `end of (the) week`, `next week` (its Monday), or a weekday
/// (the next one after the meeting's day). `None` when it cannot be told.
pub(crate) fn due_date(said: &str, day: NaiveDate) -> Option<NaiveDate> {
    let s = said.trim().to_lowercase();
    if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        return Some(d);
    }
    let s = s
        .trim_start_matches("by ")
        .trim_start_matches("on ")
        .trim_start_matches("this ")
        .trim();
    let next = |w: Weekday| {
        let ahead =
            (7 + w.num_days_from_monday() as i64 - day.weekday().num_days_from_monday() as i64) % 7;
        day + TimeDelta::days(if ahead == 0 { 7 } else { ahead })
    };
    Some(match s {
        "today" | "end of day" | "end of the day" | "eod" | "tonight" => day,
        "tomorrow" => day + TimeDelta::days(1),
        "end of week" | "end of the week" | "eow" => next(Weekday::Fri),
        "next week" => next(Weekday::Mon),
        _ => {
            let w = [
                ("monday", Weekday::Mon),
                ("tuesday", Weekday::Tue),
                ("wednesday", Weekday::Wed),
                ("thursday", Weekday::Thu),
                ("friday", Weekday::Fri),
                ("saturday", Weekday::Sat),
                ("sunday", Weekday::Sun),
            ]
            .into_iter()
            .find(|(n, _)| s == *n)?
            .1;
            next(w)
        }
    })
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("storage: {e}"))
}

pub(super) fn to_job(e: CoreError) -> JobError {
    match e {
        CoreError::Locked => JobError::Retryable(
            "the meeting is locked by zero-access encryption until its owner logs in".into(),
        ),
        CoreError::NotFound(what) => JobError::Permanent(format!("{what} not found")),
        CoreError::Integrity(what) => {
            JobError::Permanent(format!("stored data failed its integrity check ({what})"))
        }
        other => {
            tracing::warn!(error = ?other, "integration job failed");
            JobError::Retryable("an internal error occurred; the job will be retried".into())
        }
    }
}

pub(crate) struct ProposeHandler {
    pub core: Core,
}

#[async_trait::async_trait]
impl Handler for ProposeHandler {
    fn kind(&self) -> &'static str {
        PROPOSE_KIND
    }
    fn concurrency(&self) -> usize {
        1
    }
    async fn run(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        self.propose(job).await
    }
}

impl std::ops::Deref for ProposeHandler {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_are_read_relative_to_the_meetings_day() {
        // A Thursday.
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        assert_eq!(due_date("Friday", day), d(2026, 12, 4));
        assert_eq!(due_date("by thursday", day), d(2026, 12, 10));
        assert_eq!(due_date("tomorrow", day), d(2026, 12, 4));
        assert_eq!(due_date("EOD", day), d(2026, 12, 3));
        assert_eq!(due_date("next week", day), d(2026, 12, 7));
        assert_eq!(due_date("end of the week", day), d(2026, 12, 4));
        assert_eq!(due_date("2027-01-15", day), d(2027, 1, 15));
        assert_eq!(due_date("soonish", day), None);
    }
}
