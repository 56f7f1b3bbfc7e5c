//! Retention (`core.retention()`): how long each part of a meeting is kept — recordings,
//! transcripts, bot data — at four levels, the most specific winning: the operator's defaults
//! (`[retention]`), the org's policy, a workspace's, and a meeting's own (set by the bot that
//! made it). The org may also set maxima no workspace or bot can exceed (a value over one is
//! refused when it is set, and capped if the org lowers its maximum later). The event outbox
//! has an org-level window too. `sweep.rs` enforces all of it.
//!
//! Windows count from when a part is processed: a recording from its transcription (and
//! delivery, where a destination waits for it), a transcript from the last transcription, bot
//! data from the bot's end. `0` deletes at the next sweep after that; `forever` never.

pub(crate) mod sweep;

use chrono::{DateTime, Utc};
use meetvault_config::Window;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::Scope;
use crate::access::proof::{MeetingsRead, OrgManage};
use crate::audit::{AuditAction, Event};
use crate::ids::{CertificateId, MeetingId, OrgId, WorkspaceId};
pub use crate::lifecycle::{PARTS, Part, Windows};
use crate::{Core, CoreError};

/// The org's policy: its windows, the outbox's, and the maxima below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recordings: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcripts: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_data: Option<Window>,
    /// The event outbox (at least one day: webhooks are delivered from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Window>,
    /// What workspaces and bots may not exceed (nor the org's own windows).
    #[serde(default, skip_serializing_if = "Windows::is_empty")]
    pub max: Windows,
}

impl OrgPolicy {
    pub fn windows(&self) -> Windows {
        Windows {
            recordings: self.recordings,
            transcripts: self.transcripts,
            bot_data: self.bot_data,
        }
    }
}

/// Where an effective window came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The operator's `[retention]` defaults.
    Default,
    Org,
    Workspace,
    /// The meeting's own (its bot's).
    Meeting,
    /// The level that set it asked for more than the org's maximum; the maximum applies.
    OrgMaximum,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Org => "org",
            Self::Workspace => "workspace",
            Self::Meeting => "meeting",
            Self::OrgMaximum => "org_maximum",
        }
    }
}

/// A window in force and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub window: Window,
    pub source: Source,
}

/// The windows in force for each part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub recordings: Effective,
    pub transcripts: Effective,
    pub bot_data: Effective,
}

impl Resolved {
    pub fn get(&self, part: Part) -> Effective {
        match part {
            Part::Recordings => self.recordings,
            Part::Transcripts => self.transcripts,
            _ => self.bot_data,
        }
    }

    /// The policy in words, for a certificate: `recordings 0 days (default)`.
    pub fn describe(&self, part: Part) -> String {
        let e = self.get(part);
        format!("{} {} ({})", part.label(), e.window, e.source.as_str())
    }
}

/// The most specific window of each part, capped by the org's maxima.
pub fn resolve(
    defaults: &meetvault_config::RetentionConfig,
    org: &OrgPolicy,
    workspace: &Windows,
    meeting: &Windows,
) -> Resolved {
    let one = |part: Part, default: Window| {
        let (window, source) = [
            (meeting.get(part), Source::Meeting),
            (workspace.get(part), Source::Workspace),
            (org.windows().get(part), Source::Org),
        ]
        .into_iter()
        .find_map(|(w, s)| w.map(|w| (w, s)))
        .unwrap_or((default, Source::Default));
        match org.max.get(part) {
            Some(max) if window > max => Effective {
                window: max,
                source: Source::OrgMaximum,
            },
            _ => Effective { window, source },
        }
    };
    Resolved {
        recordings: one(Part::Recordings, defaults.recordings),
        transcripts: one(Part::Transcripts, defaults.transcripts),
        bot_data: one(Part::BotData, defaults.bot_data),
    }
}

/// The field name of a part in the API (`recordings`, `transcripts`, `bot_data`).
pub fn field(part: Part) -> &'static str {
    match part {
        Part::Recordings => "recordings",
        Part::Transcripts => "transcripts",
        Part::BotData => "bot_data",
        Part::Meeting => "meeting",
        Part::Events => "events",
    }
}

/// Refuses (422, naming the part, as `retention.<part>` when `nested`) a window over the
/// org's maximum.
fn check_against(max: &Windows, windows: &Windows, nested: bool) -> Result<(), CoreError> {
    for part in PARTS {
        if let (Some(w), Some(m)) = (windows.get(part), max.get(part))
            && w > m
        {
            let name = match (nested, part) {
                (false, p) => field(p),
                (true, Part::Recordings) => "retention.recordings",
                (true, Part::Transcripts) => "retention.transcripts",
                (true, _) => "retention.bot_data",
            };
            return Err(CoreError::invalid(
                name,
                format!("{w} is over the org's maximum of {m}"),
            ));
        }
    }
    Ok(())
}

/// The retention policy as the API shows it for the org, or for one workspace.
#[derive(Debug, Clone)]
pub struct RetentionView {
    pub org: OrgPolicy,
    /// The workspace asked for, and its own windows.
    pub workspace: Option<(WorkspaceId, Windows)>,
    pub defaults: meetvault_config::RetentionConfig,
    /// What applies to a meeting of the org (or of the workspace) with no windows of its own.
    pub effective: Resolved,
    /// The outbox's window in days (the org's, else `events.retention_secs` rounded up).
    pub events: Window,
}

/// When each part of one meeting will be (or was) deleted.
#[derive(Debug, Clone)]
pub struct MeetingRetention {
    pub meeting_id: MeetingId,
    /// The meeting's own windows (its bot's).
    pub own: Windows,
    pub parts: Vec<PartSchedule>,
}

#[derive(Debug, Clone)]
pub struct PartSchedule {
    pub part: Part,
    pub window: Window,
    pub source: Source,
    /// Whether the meeting holds anything of this part now.
    pub held: bool,
    /// When the sweeper deletes it (at its first pass after this time); `None` when it is
    /// kept forever, holds nothing, or waits (see `waiting`).
    pub delete_at: Option<DateTime<Utc>>,
    /// What it waits for before its window starts (transcription, delivery, the bot's end).
    pub waiting: Option<&'static str>,
    /// When retention last deleted this part, and its certificate.
    pub deleted_at: Option<DateTime<Utc>>,
    pub certificate_id: Option<CertificateId>,
}

/// The retention service.
#[derive(Debug, Clone, Copy)]
pub struct Retention<'a> {
    pub(crate) core: &'a Core,
}

impl Retention<'_> {
    /// The org's policy (and, with `workspace`, that workspace's) with what is in force.
    pub async fn get(
        self,
        scope: &Scope<MeetingsRead>,
        workspace: Option<WorkspaceId>,
    ) -> Result<RetentionView, CoreError> {
        let org = scope.org_id().uuid();
        if let Some(ws) = workspace {
            self.core.workspace_of(scope, Some(ws)).await?;
        }
        self.view(org, workspace).await
    }

    /// Replaces the org's policy. Its windows may not exceed its own maxima; the outbox keeps
    /// events at least a day.
    pub async fn put_org(
        self,
        scope: &Scope<OrgManage>,
        policy: OrgPolicy,
    ) -> Result<RetentionView, CoreError> {
        check_against(&policy.max, &policy.windows(), false)?;
        if policy.events == Some(Window::Days(0)) {
            return Err(CoreError::invalid(
                "events",
                "must be at least 1 day (webhooks are delivered from the outbox), or \"forever\"",
            ));
        }
        let org = scope.org_id().uuid();
        let text = serde_json::to_string(&policy).map_err(CoreError::internal)?;
        self.core
            .db()
            .put_retention_policy(org, org, Some(&text), Utc::now().timestamp_millis())
            .await?;
        let mut event = Event::by(scope, AuditAction::RetentionUpdate);
        event.resource = Some(OrgId::from(org).to_string());
        self.core.audit(event).await?;
        self.view(org, None).await
    }

    /// Replaces a workspace's windows (within the org's maxima); empty removes them.
    pub async fn put_workspace(
        self,
        scope: &Scope<OrgManage>,
        workspace: WorkspaceId,
        windows: Windows,
    ) -> Result<RetentionView, CoreError> {
        let org = scope.org_id().uuid();
        if !self
            .core
            .db()
            .workspaces(org)
            .await?
            .iter()
            .any(|w| w.id == workspace.uuid())
        {
            return Err(CoreError::invalid(
                "workspace_id",
                "no such workspace in your org",
            ));
        }
        let policy = self.core.org_retention(org).await?;
        check_against(&policy.max, &windows, false)?;
        let text = serde_json::to_string(&windows).map_err(CoreError::internal)?;
        self.core
            .db()
            .put_retention_policy(
                org,
                workspace.uuid(),
                (!windows.is_empty()).then_some(text.as_str()),
                Utc::now().timestamp_millis(),
            )
            .await?;
        let mut event = Event::by(scope, AuditAction::RetentionUpdate);
        event.resource = Some(workspace.to_string());
        self.core.audit(event).await?;
        self.view(org, Some(workspace)).await
    }

    /// When each part of a meeting will be deleted.
    pub async fn meeting(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<MeetingRetention, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let facts = self
            .core
            .db()
            .retention_facts(row.org_id, row.id)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        let mut policies = sweep::Policies::default();
        let plan = self
            .core
            .plan_retention(&mut policies, &facts, Utc::now().timestamp_millis())
            .await?;
        Ok(MeetingRetention {
            meeting_id: meeting,
            own: plan.own,
            parts: plan.schedule,
        })
    }

    async fn view(
        self,
        org: Uuid,
        workspace: Option<WorkspaceId>,
    ) -> Result<RetentionView, CoreError> {
        let policy = self.core.org_retention(org).await?;
        let ws = match workspace {
            Some(w) => Some((w, self.core.workspace_retention(org, w.uuid()).await?)),
            None => None,
        };
        let defaults = self.core.config().retention.clone();
        let effective = resolve(
            &defaults,
            &policy,
            &ws.map(|(_, w)| w).unwrap_or_default(),
            &Windows::default(),
        );
        Ok(RetentionView {
            org: policy,
            workspace: ws,
            events: policy.events.unwrap_or(Window::Days(
                u32::try_from(self.core.config().events.retention_secs.div_ceil(86_400))
                    .unwrap_or(u32::MAX),
            )),
            defaults,
            effective,
        })
    }
}

impl Core {
    /// The org's policy (empty when it set none).
    pub(crate) async fn org_retention(&self, org: Uuid) -> Result<OrgPolicy, CoreError> {
        match self.db().retention_policy(org, org).await? {
            Some(text) => serde_json::from_str(&text).map_err(CoreError::internal),
            None => Ok(OrgPolicy::default()),
        }
    }

    /// A workspace's own windows (empty when it set none).
    pub(crate) async fn workspace_retention(
        &self,
        org: Uuid,
        workspace: Uuid,
    ) -> Result<Windows, CoreError> {
        match self.db().retention_policy(org, workspace).await? {
            Some(text) => serde_json::from_str(&text).map_err(CoreError::internal),
            None => Ok(Windows::default()),
        }
    }

    /// Refuses a meeting's (a bot's) windows over the org's maxima (422 naming
    /// `retention.<part>`).
    pub(crate) async fn check_meeting_retention(
        &self,
        org: Uuid,
        windows: &Windows,
    ) -> Result<(), CoreError> {
        if windows.is_empty() {
            return Ok(());
        }
        check_against(&self.org_retention(org).await?.max, windows, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(d: u32) -> Option<Window> {
        Some(Window::Days(d))
    }

    #[test]
    fn the_most_specific_window_wins_and_the_org_maximum_caps_it() {
        let defaults = meetvault_config::RetentionConfig::default();
        let org = OrgPolicy {
            transcripts: days(60),
            max: Windows {
                transcripts: days(90),
                ..Windows::default()
            },
            ..OrgPolicy::default()
        };
        let ws = Windows {
            transcripts: days(14),
            bot_data: Some(Window::Forever),
            ..Windows::default()
        };
        let meeting = Windows {
            transcripts: Some(Window::Forever),
            ..Windows::default()
        };
        let r = resolve(&defaults, &org, &ws, &Windows::default());
        assert_eq!(r.recordings.window, Window::Days(0));
        assert_eq!(r.recordings.source, Source::Default);
        assert_eq!(r.transcripts.window, Window::Days(14));
        assert_eq!(r.transcripts.source, Source::Workspace);
        assert_eq!(r.bot_data.window, Window::Forever);
        let r = resolve(&defaults, &org, &ws, &meeting);
        assert_eq!(r.transcripts.window, Window::Days(90));
        assert_eq!(r.transcripts.source, Source::OrgMaximum);
        let r = resolve(&defaults, &org, &Windows::default(), &Windows::default());
        assert_eq!(r.transcripts.window, Window::Days(60));
        assert_eq!(r.transcripts.source, Source::Org);
        assert_eq!(r.describe(Part::Transcripts), "transcripts 60 days (org)");
    }

    #[test]
    fn windows_order_days_below_forever_and_parse_both_forms() {
        assert!(Window::Days(36_500) < Window::Forever);
        assert!(Window::Days(0) < Window::Days(1));
        let w: Windows =
            serde_json::from_str(r#"{"recordings": 0, "transcripts": "forever"}"#).unwrap();
        assert_eq!(w.recordings, days(0));
        assert_eq!(w.transcripts, Some(Window::Forever));
        for bad in [
            r#"{"recordings": -1}"#,
            r#"{"recordings": "soon"}"#,
            r#"{"recordings": 36501}"#,
            r#"{"recordings": 1.5}"#,
            r#"{"minutes": 3}"#,
        ] {
            assert!(serde_json::from_str::<Windows>(bad).is_err(), "{bad}");
        }
    }
}
