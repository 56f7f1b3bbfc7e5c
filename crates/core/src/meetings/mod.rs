//! Meetings: create, read, list (cursor pagination, by workspace and date), update and delete
//! (crypto-shredding). The title and every participant name and email are encrypted under the
//! meeting's key; the schedule, language and transcription settings are not content and stay
//! plain so they can be filtered on.

mod delete;
pub(crate) use delete::KIND as DELETION_KIND;
mod edit;
mod recordings;
mod transcript;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use meetvault_config::TranscriptionProvider;
use meetvault_crypto::envelope::{self, KeyRef};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_store::vault::{MeetingQuery, MeetingRow, ParticipantRow};
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

use crate::access::proof::{MeetingsRead, MeetingsWrite, WorkspaceScoped};
use crate::access::{Reach, Scope};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::events::{DomainEvent, MeetingRef, outbox_event};
use crate::ids::{MeetingId, UserId, WorkspaceId};
use crate::vault::{bind, check_text};
use crate::{Core, CoreError};

pub use edit::SegmentEdit;
pub use recordings::{Delivered, RecordingView, Recordings, UploadOptions};
pub(crate) use recordings::{recordings_hint, upload_hint};
pub(crate) use transcript::export_segments;
pub use transcript::{NewSegment, SegmentView, TrackSegment, Transcripts};

#[derive(Debug, Clone)]
pub struct NewParticipant {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ParticipantView {
    pub name: String,
    pub email: Option<String>,
}

/// How a meeting is transcribed. Names the owner's stored secret holding a remote provider's
/// API key; never the key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptionSettings {
    /// `local` (Whisper on this server), `openai` (any OpenAI-compatible service) or
    /// `deepgram`; unset: the server's `transcription.default_provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<TranscriptionProvider>,
    /// The remote model (`whisper-1`, `nova-2`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Local engine: 1 = greedy, up to 16 (beam search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beam_size: Option<u32>,
    /// The remote service's base URL (required for `openai`; Deepgram's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<Url>,
    /// The name of the meeting owner's secret (`PUT /api/v1/me/secrets/{name}`) holding the
    /// remote provider's API key. Only the owner may name one: the key is theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Set by the server, never by the caller: the user who named `secret` (always the
    /// meeting's owner). A job uses a key only on behalf of the user who configured its use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_by: Option<UserId>,
    /// Local engine: `transcribe` (the default) or `translate` into English (a multilingual
    /// model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<meetvault_whisper::Task>,
    /// Local engine, when the meeting names no language: detect it in every 30-second window
    /// rather than once per track (speakers who switch language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilingual: Option<bool>,
    /// Time every word (stored sealed with its segment; karaoke exports): the local engine from
    /// its cross-attention, OpenAI-compatible servers asked for word granularity, Deepgram from
    /// the words it always sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_timestamps: Option<bool>,
}

impl TranscriptionSettings {
    /// Whether it asks for what only the local engine does (translation, per-window language).
    fn local_only(&self) -> Option<&'static str> {
        if self.task == Some(meetvault_whisper::Task::Translate) {
            Some("transcription.task")
        } else if self.multilingual == Some(true) {
            Some("transcription.multilingual")
        } else {
            None
        }
    }

    fn check(&self) -> Result<(), CoreError> {
        if let (
            Some(field),
            Some(TranscriptionProvider::Openai | TranscriptionProvider::Deepgram),
        ) = (self.local_only(), self.provider)
        {
            return Err(CoreError::invalid(
                field,
                "translation and per-window language detection run on the local engine: set \
                 provider to local (or leave it out)",
            ));
        }
        if let Some(beam) = self.beam_size
            && !(1..=16).contains(&beam)
        {
            return Err(CoreError::invalid(
                "transcription.beam_size",
                "must be between 1 and 16",
            ));
        }
        if let Some(model) = &self.model {
            check_text("transcription.model", model, 100)?;
        }
        if let Some(url) = &self.base_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(CoreError::invalid(
                "transcription.base_url",
                "must be an http:// or https:// URL",
            ));
        }
        match self.provider {
            Some(TranscriptionProvider::Openai) if self.base_url.is_none() => Err(
                CoreError::invalid("transcription.base_url", "is required for provider openai"),
            ),
            Some(TranscriptionProvider::Openai | TranscriptionProvider::Deepgram)
                if self.secret.is_none() =>
            {
                Err(CoreError::invalid(
                    "transcription.secret",
                    "names your stored secret holding the provider's API key (PUT /api/v1/me/secrets/{name}); required for remote providers",
                ))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct MeetingView {
    pub id: MeetingId,
    pub workspace_id: WorkspaceId,
    pub owner_id: UserId,
    pub title: String,
    pub participants: Vec<ParticipantView>,
    pub started_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub transcription: TranscriptionSettings,
    /// The meeting's own intelligence settings (empty: it inherits its workspace's and org's).
    pub intelligence: crate::intel_settings::IntelSettings,
    /// Names and jargon the transcriber is prompted with (sealed like the title).
    pub glossary: Option<String>,
    /// The widget whose visitor submitted it, and their verified identity.
    pub widget: Option<WidgetSource>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A meeting a widget's visitor submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetSource {
    /// The widget (which may since have been deleted).
    pub widget_id: Option<crate::ids::WidgetId>,
    /// The identity the visitor's signed token proved; none when they gave none.
    pub visitor: Option<VisitorView>,
}

/// The verified visitor identity stored with a submission's meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorView {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the server verified the token (Unix ms).
    pub verified_at: i64,
}

/// One row of a meeting list. `title` is absent (and `locked` true) when the meeting belongs
/// to a zero-access user who is not logged in.
#[derive(Debug, Clone)]
pub struct MeetingSummary {
    pub id: MeetingId,
    pub workspace_id: WorkspaceId,
    pub owner_id: UserId,
    pub title: Option<String>,
    pub locked: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct MeetingPage {
    pub meetings: Vec<MeetingSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A new meeting.
#[derive(Debug, Clone, Default)]
pub struct NewMeeting {
    pub title: String,
    /// `wsp_…`; the org's first workspace when absent.
    pub workspace_id: Option<WorkspaceId>,
    pub participants: Vec<NewParticipant>,
    pub started_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub transcription: TranscriptionSettings,
    /// Its own intelligence settings (provider, prompt, redaction), over its workspace's.
    pub intelligence: Option<crate::intel_settings::IntelSettings>,
    /// Names and jargon to spell the meeting's way (Whisper's initial prompt).
    pub glossary: Option<String>,
}

/// A partial update: absent fields stay, `null` clears the optional ones.
#[derive(Debug, Clone, Default)]
pub struct MeetingPatch {
    pub title: Option<String>,
    pub workspace_id: Option<WorkspaceId>,
    /// Replaces the whole list.
    pub participants: Option<Vec<NewParticipant>>,
    pub started_at: Option<Option<DateTime<Utc>>>,
    pub language: Option<Option<String>>,
    pub transcription: Option<TranscriptionSettings>,
    /// Replaces its own intelligence settings (empty: inherit again).
    pub intelligence: Option<crate::intel_settings::IntelSettings>,
    pub glossary: Option<Option<String>>,
}

/// Filters and paging of `GET /meetings`.
#[derive(Debug, Clone, Default)]
pub struct ListMeetings {
    pub workspace_id: Option<WorkspaceId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A language as Whisper names it (`en`, `de`, `yue`…), optionally with the region a remote
/// provider may take (`pt-br`); lowercased. Anything else is refused, naming the field, so no
/// job is queued that the engine would fail on.
pub(crate) fn check_language(language: &Option<String>) -> Result<Option<String>, CoreError> {
    let Some(language) = language.as_deref().map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let language = language.to_ascii_lowercase();
    let region_ok = match language.split_once('-') {
        None => true,
        Some((_, region)) => {
            (2..=8).contains(&region.len()) && region.bytes().all(|b| b.is_ascii_alphanumeric())
        }
    };
    if region_ok && meetvault_stt::language::name_for_code(primary_language(&language)).is_some() {
        Ok(Some(language))
    } else {
        Err(CoreError::invalid(
            "language",
            "must be one of Whisper's language codes (en, de, fr, es, pt, zh, ja, …), optionally \
             with a region such as pt-br",
        ))
    }
}

/// The language without its region (`pt-br` → `pt`).
pub fn primary_language(code: &str) -> &str {
    code.split_once('-').map_or(code, |(primary, _)| primary)
}

fn check_participants(participants: &[NewParticipant]) -> Result<(), CoreError> {
    if participants.len() > 1000 {
        return Err(CoreError::invalid(
            "participants",
            "at most 1000 per meeting",
        ));
    }
    for p in participants {
        if p.name.trim().is_empty() {
            return Err(CoreError::invalid("participants.name", "must not be empty"));
        }
        check_text("participants.name", &p.name, 200)?;
        if let Some(email) = &p.email {
            crate::auth::EmailAddress::parse(email)
                .map_err(|_| CoreError::invalid("participants.email", "is not an email address"))?;
        }
    }
    Ok(())
}

fn check_title(title: &str) -> Result<&str, CoreError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(CoreError::invalid("title", "must not be empty"));
    }
    check_text("title", title, 500)?;
    Ok(title)
}

fn encrypt_participants(
    key: &SymmetricKey,
    kref: KeyRef,
    org: Uuid,
    meeting: Uuid,
    participants: &[NewParticipant],
) -> Vec<ParticipantRow> {
    participants
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pid = Uuid::new_v4();
            ParticipantRow {
                id: pid,
                org_id: org,
                meeting_id: meeting,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                name: envelope::encrypt(
                    key,
                    kref,
                    &bind(org, "meeting_participants", pid, "name"),
                    p.name.trim().as_bytes(),
                ),
                email: p.email.as_ref().map(|e| {
                    envelope::encrypt(
                        key,
                        kref,
                        &bind(org, "meeting_participants", pid, "email"),
                        e.trim().as_bytes(),
                    )
                }),
            }
        })
        .collect()
}

pub(crate) fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), CoreError> {
    let bad = || CoreError::invalid("cursor", "is not a cursor from a previous page");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = text.split_once('|').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    Ok((
        at.with_timezone(&Utc),
        Uuid::parse_str(id).map_err(|_| bad())?,
    ))
}

impl Core {
    /// The workspace a meeting goes to: the one asked for (it must be the org's, and the
    /// scope must reach it), else the first of the org's workspaces the scope reaches.
    pub(crate) async fn workspace_of<P: WorkspaceScoped>(
        &self,
        scope: &Scope<P>,
        wanted: Option<WorkspaceId>,
    ) -> Result<Uuid, CoreError> {
        let workspaces = self.db().workspaces(scope.org_id().uuid()).await?;
        match wanted {
            Some(id) => {
                let ws = workspaces
                    .iter()
                    .find(|w| w.id == id.uuid())
                    .map(|w| w.id)
                    .ok_or(CoreError::invalid(
                        "workspace_id",
                        "no such workspace in your org",
                    ))?;
                if !scope.reaches(id) {
                    return Err(CoreError::NotAllowed(
                        "your role or key does not allow this in that workspace".into(),
                    ));
                }
                Ok(ws)
            }
            None => workspaces
                .iter()
                .map(|w| w.id)
                .find(|w| scope.reaches(WorkspaceId::from(*w)))
                .ok_or(CoreError::invalid(
                    "workspace_id",
                    "no workspace of your org is open to you for this; name one you may use",
                )),
        }
    }

    /// Checks transcription settings as `scope` sets them on a meeting of `owner`. A stored API
    /// key is used only on behalf of the user who owns it and who configured its use: only the
    /// meeting's owner may name one of their secrets, the secret must exist, and the provider's
    /// URL must pass the outbound rules (https to a public host, or one the operator trusts).
    async fn settle_transcription(
        &self,
        scope: &Scope<MeetingsWrite>,
        owner: Uuid,
        settings: &TranscriptionSettings,
    ) -> Result<TranscriptionSettings, CoreError> {
        settings.check()?;
        let local = settings
            .provider
            .unwrap_or(self.config().transcription.default_provider)
            == TranscriptionProvider::Local;
        if local
            && settings.task == Some(meetvault_whisper::Task::Translate)
            && !self.engine().model().await?.info().multilingual
        {
            return Err(CoreError::invalid(
                "transcription.task",
                "the server's transcription model is English-only and cannot translate: the \
                 operator can install the multilingual one (`scripts/models.sh --model base`, \
                 transcription.model = \"base\")",
            ));
        }
        let mut settled = TranscriptionSettings {
            configured_by: None,
            ..settings.clone()
        };
        if let Some(url) = &settled.base_url {
            self.outbound()
                .check_url(url)
                .map_err(|e| CoreError::invalid("transcription.base_url", e.to_string()))?;
        }
        if let Some(name) = &settled.secret {
            if scope.user_id().uuid() != owner {
                return Err(CoreError::NotAllowed(
                    "only the meeting's owner can have it transcribed with a stored API key \
                     (transcription.secret): the key is theirs and is used on their behalf"
                        .into(),
                ));
            }
            let exists = self
                .db()
                .user_secrets(scope.org_id().uuid(), owner)
                .await?
                .iter()
                .any(|r| r.name == *name);
            if !exists {
                return Err(CoreError::invalid(
                    "transcription.secret",
                    "you have no stored secret of that name: store the provider's API key first \
                     with PUT /api/v1/me/secrets/{name}",
                ));
            }
            settled.configured_by = Some(scope.user_id());
        }
        Ok(settled)
    }
}

/// Meetings (`core.meetings()`): create, read, list, update and delete a meeting; a
/// delete crypto-shreds its keys and content.
#[derive(Debug, Clone, Copy)]
pub struct Meetings<'a> {
    pub(crate) core: &'a Core,
}

impl Meetings<'_> {
    /// Creates a meeting owned by the caller, in one of the org's workspaces.
    pub async fn create(
        self,
        scope: &Scope<MeetingsWrite>,
        new: &NewMeeting,
    ) -> Result<MeetingView, CoreError> {
        let org = scope.org_id().uuid();
        let title = check_title(&new.title)?;
        check_participants(&new.participants)?;
        let language = check_language(&new.language)?;
        let glossary = match &new.glossary {
            Some(g) => self.core.check_glossary("glossary", g).await?,
            None => None,
        };
        let owner = scope.user_id().uuid();
        let transcription = self
            .core
            .settle_transcription(scope, owner, &new.transcription)
            .await?;
        let workspace = self.core.workspace_of(scope, new.workspace_id).await?;
        let intelligence = self
            .core
            .meeting_intel_json(org, scope.user_id(), new.intelligence.clone())
            .await?;
        let id = Uuid::new_v4();
        let (kref, key) = self.core.meeting_write_key(org, id, owner).await?;
        let row = MeetingRow {
            id,
            org_id: org,
            workspace_id: workspace,
            owner_id: owner,
            title: envelope::encrypt(
                &key,
                kref,
                &bind(org, "meetings", id, "title"),
                title.as_bytes(),
            ),
            created_at: Utc::now(),
            started_at: new.started_at,
            language,
            transcription: serde_json::to_string(&transcription).map_err(CoreError::internal)?,
            updated_at: None,
            glossary: glossary.map(|g| {
                envelope::encrypt(
                    &key,
                    kref,
                    &bind(org, "meetings", id, "glossary"),
                    g.as_bytes(),
                )
            }),
            intelligence,
            widget_id: None,
        };
        let rows = encrypt_participants(&key, kref, org, id, &new.participants);
        let created = outbox_event(org, &DomainEvent::MeetingCreated(meeting_ref(&row)), None)?;
        if let Err(e) = self.core.db().insert_meeting(&row, &rows, &[created]).await {
            self.core
                .encryption()
                .shred_meeting_keys(org.into(), id.into())
                .await?;
            return Err(e.into());
        }
        self.core.events().wake(id);
        self.core
            .audit(Event::by(scope, AuditAction::MeetingCreate).resource(id))
            .await?;
        self.meeting_view(scope, &row).await
    }

    pub async fn get(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<MeetingView, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        self.meeting_view(scope, &row).await
    }

    async fn meeting_view<P: WorkspaceScoped>(
        self,
        scope: &Scope<P>,
        row: &MeetingRow,
    ) -> Result<MeetingView, CoreError> {
        let keys = self.core.meeting_keys_for(scope, row).await?;
        let title = keys.text(row.org_id, "meetings", row.id, "title", &row.title)?;
        let glossary = row
            .glossary
            .as_deref()
            .map(|g| keys.text(row.org_id, "meetings", row.id, "glossary", g))
            .transpose()?;
        let mut participants = Vec::new();
        for p in self.core.db().participants(row.org_id, row.id).await? {
            participants.push(ParticipantView {
                name: keys.text(row.org_id, "meeting_participants", p.id, "name", &p.name)?,
                email: p
                    .email
                    .as_deref()
                    .map(|e| keys.text(row.org_id, "meeting_participants", p.id, "email", e))
                    .transpose()?,
            });
        }
        Ok(MeetingView {
            id: row.id.into(),
            workspace_id: row.workspace_id.into(),
            owner_id: row.owner_id.into(),
            title,
            participants,
            started_at: row.started_at,
            language: row.language.clone(),
            transcription: TranscriptionSettings::parse(&row.transcription),
            intelligence: row
                .intelligence
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default(),
            glossary,
            // Only a widget's meeting costs the extra read.
            widget: match row.widget_id {
                Some(_) => self.core.widget_source(row, &keys).await?,
                None => None,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// A page of the org's meetings, newest first.
    pub async fn list(
        self,
        scope: &Scope<MeetingsRead>,
        q: &ListMeetings,
    ) -> Result<MeetingPage, CoreError> {
        let limit = i64::from(q.limit.unwrap_or(50));
        if !(1..=200).contains(&limit) {
            return Err(CoreError::invalid("limit", "must be between 1 and 200"));
        }
        if let (Some(from), Some(to)) = (q.from, q.to)
            && from >= to
        {
            return Err(CoreError::invalid("from", "must be before `to`"));
        }
        let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let rows = self
            .core
            .db()
            .meetings_page(&MeetingQuery {
                org_id: scope.org_id().uuid(),
                workspace_id: q.workspace_id.map(WorkspaceId::uuid),
                within: match scope.reach() {
                    Reach::Org => None,
                    Reach::Workspaces(list) => {
                        Some(list.into_iter().map(WorkspaceId::uuid).collect())
                    }
                },
                from: q.from,
                to: q.to,
                before,
                limit: limit + 1,
            })
            .await?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let page = &rows[..rows.len().min(usize::try_from(limit).unwrap_or(usize::MAX))];
        let keys = self.core.meeting_keys_for_page(scope, page).await?;
        let mut meetings = Vec::new();
        for (row, keys) in page.iter().zip(keys) {
            let title = match keys {
                Ok(keys) => Some(keys.text(row.org_id, "meetings", row.id, "title", &row.title)?),
                // Zero-access: the owner is away, or the caller is not the owner.
                Err(CoreError::Locked | CoreError::ZeroAccessOwnerOnly) => None,
                Err(e) => return Err(e),
            };
            meetings.push(MeetingSummary {
                id: row.id.into(),
                workspace_id: row.workspace_id.into(),
                owner_id: row.owner_id.into(),
                locked: title.is_none(),
                title,
                started_at: row.started_at,
                language: row.language.clone(),
                created_at: row.created_at,
            });
        }
        let next_cursor = match (more, meetings.last()) {
            (true, Some(last)) => Some(encode_cursor(last.created_at, last.id.uuid())),
            _ => None,
        };
        Ok(MeetingPage {
            meetings,
            next_cursor,
        })
    }

    /// Changes a meeting; participants, when given, replace the list.
    pub async fn update(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        patch: &MeetingPatch,
    ) -> Result<MeetingView, CoreError> {
        let mut row = self.core.meeting_row(scope, meeting).await?;
        // The answer shows the meeting: a caller who may not read it changes nothing.
        self.core.meeting_keys_for(scope, &row).await?;
        let org = row.org_id;
        let title = patch.title.as_deref().map(check_title).transpose()?;
        if let Some(p) = &patch.participants {
            check_participants(p)?;
        }
        let language = patch.language.as_ref().map(check_language).transpose()?;
        let glossary = match &patch.glossary {
            Some(Some(g)) => Some(self.core.check_glossary("glossary", g).await?),
            Some(None) => Some(None),
            None => None,
        };
        let transcription = match &patch.transcription {
            Some(t) => Some(
                self.core
                    .settle_transcription(scope, row.owner_id, t)
                    .await?,
            ),
            None => None,
        };
        if let Some(i) = &patch.intelligence {
            if i.secret.is_some() && scope.user_id().uuid() != row.owner_id {
                return Err(CoreError::invalid(
                    "intelligence.secret",
                    "only the meeting's owner may name a secret: the key is theirs and is used on their behalf",
                ));
            }
            row.intelligence = self
                .core
                .meeting_intel_json(org, scope.user_id(), Some(i.clone()))
                .await?;
        }
        if let Some(ws) = patch.workspace_id {
            row.workspace_id = self.core.workspace_of(scope, Some(ws)).await?;
        }
        let needs_key =
            title.is_some() || patch.participants.is_some() || matches!(glossary, Some(Some(_)));
        let mut participants = None;
        if needs_key {
            let (kref, key) = self
                .core
                .meeting_write_key(org, row.id, row.owner_id)
                .await?;
            if let Some(title) = title {
                row.title = envelope::encrypt(
                    &key,
                    kref,
                    &bind(org, "meetings", row.id, "title"),
                    title.as_bytes(),
                );
            }
            if let Some(p) = &patch.participants {
                participants = Some(encrypt_participants(&key, kref, org, row.id, p));
            }
            if let Some(Some(g)) = &glossary {
                row.glossary = Some(envelope::encrypt(
                    &key,
                    kref,
                    &bind(org, "meetings", row.id, "glossary"),
                    g.as_bytes(),
                ));
            }
        }
        if let Some(None) = glossary {
            row.glossary = None;
        }
        if let Some(at) = patch.started_at {
            row.started_at = at;
        }
        if let Some(language) = language {
            row.language = language;
        }
        if let Some(t) = &transcription {
            row.transcription = serde_json::to_string(t).map_err(CoreError::internal)?;
        }
        row.updated_at = Some(Utc::now());
        let updated = outbox_event(
            row.org_id,
            &DomainEvent::MeetingUpdated(meeting_ref(&row)),
            None,
        )?;
        if !self
            .core
            .db()
            .update_meeting(&row, participants.as_deref(), &[updated])
            .await?
        {
            return Err(CoreError::NotFound("meeting"));
        }
        self.core.events().wake(row.id);
        self.core
            .audit(Event::by(scope, AuditAction::MeetingUpdate).resource(row.id))
            .await?;
        self.meeting_view(scope, &row).await
    }
}

/// What an event says of a meeting: its id and workspace, never its content.
fn meeting_ref(row: &MeetingRow) -> MeetingRef {
    MeetingRef {
        meeting_id: row.id.into(),
        workspace_id: row.workspace_id.into(),
    }
}
