//! The visitor's side of a widget: its public texts, a session (opened from an allowed origin,
//! at most `widgets.sessions_per_ip_hour` per IP address, with an optional signed visitor
//! identity verified against the widget's secret), audio chunks in order (each sealed under
//! the org's key, bound to its session and position), and the submission (at most
//! `widgets.submissions_per_ip_hour` per IP), which a durable job turns into a meeting in the
//! widget's workspace: one speaker, `visitor`, under the widget's retention, its recording
//! sealed under the meeting's key and transcribed here, the verified claims stored with it.
//! No IP address is stored; unsubmitted sessions are deleted with their chunks at expiry.

use std::net::IpAddr;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use meetvault_auth::token::{self, Token};
use meetvault_crypto::envelope;
use meetvault_jobs::{Job, JobContext, JobError, NewJob};
use meetvault_store::BlobKey;
use meetvault_store::vault::{MeetingRow, ParticipantRow};
use meetvault_store::widgets::{WidgetRow, WidgetSessionRow, WidgetSubmissionRow};
use url::Url;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{OnSubmit, Widgets, view};
use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome};
use crate::events::{DomainEvent, outbox_event};
use crate::ids::WidgetId;
use crate::meetings::UploadOptions;
use crate::meetings::{VisitorView, WidgetSource};
use crate::vault::bind;
use crate::{Core, CoreError};

/// The job kind that turns a submitted session into a meeting.
pub(crate) const SUBMIT_JOB: &str = "widget.submit";
/// The speaker label of every submission.
pub const VISITOR: &str = "visitor";
/// Opus as browsers record it runs at most about 128 kbit/s: 16 kB per second allowed, and a
/// container's headers.
const BYTES_PER_SECOND: i64 = 16_000;
const HEADROOM: i64 = 64 * 1024;

/// What a visitor's page is shown.
#[derive(Debug, Clone)]
pub struct PublicWidget {
    pub id: WidgetId,
    pub greeting: String,
    pub prompt: Option<String>,
    pub consent_text: String,
    pub privacy_url: Option<Url>,
    pub max_seconds: u32,
    pub max_chunk_bytes: u64,
    pub require_identity: bool,
    pub live_transcript: bool,
}

/// A session, as its browser is told once.
pub struct SessionOpened {
    pub token: Zeroizing<String>,
    pub expires_at: DateTime<Utc>,
    pub max_seconds: u32,
    pub max_chunk_bytes: u64,
    /// Whether a visitor token was given and verified.
    pub identified: bool,
    /// Whether the visitor sees the transcript while talking (`GET …/live`): the widget asks
    /// for it, and this instance has a live transcriber free.
    pub live: bool,
}

impl std::fmt::Debug for SessionOpened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOpened")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn chunk_key(org: Uuid, session: Uuid, seq: i64) -> Result<BlobKey, CoreError> {
    Ok(BlobKey::parse(&format!(
        "orgs/{org}/widget_sessions/{session}/{seq}"
    ))?)
}

/// The row a chunk's seal is bound to: its session's id with its position mixed into the low
/// bits, so a chunk moved to another position or session does not open.
fn chunk_row(session: Uuid, seq: i64) -> Uuid {
    Uuid::from_u128(session.as_u128() ^ (u128::from(seq.unsigned_abs()) + 1))
}

fn session_cap(max_seconds: u32) -> i64 {
    i64::from(max_seconds) * BYTES_PER_SECOND + HEADROOM
}

fn settings(row: &WidgetRow) -> Result<super::WidgetSettings, CoreError> {
    Ok(view(row)?.settings)
}

impl Widgets<'_> {
    /// An enabled widget and the origins allowed to embed it (not found otherwise).
    pub async fn public(self, id: WidgetId) -> Result<(PublicWidget, Vec<String>), CoreError> {
        let row = self.enabled(id).await?;
        let v = view(&row)?;
        Ok((
            PublicWidget {
                id,
                greeting: v.settings.greeting,
                prompt: v.settings.prompt,
                consent_text: v.settings.consent_text,
                privacy_url: v.settings.privacy_url,
                max_seconds: v.settings.max_seconds,
                max_chunk_bytes: self.core.config().widgets.max_chunk_bytes,
                require_identity: v.settings.require_identity,
                live_transcript: v.settings.live_transcript,
            },
            v.allowed_origins,
        ))
    }

    pub(super) async fn enabled(self, id: WidgetId) -> Result<WidgetRow, CoreError> {
        self.core
            .db()
            .public_widget(id.uuid())
            .await?
            .filter(|w| w.enabled)
            .ok_or(CoreError::NotFound("widget"))
    }

    /// Opens a visitor's session from `origin` (which must be allowed), counted against `ip`'s
    /// hourly budget; `visitor_token`, when given, must verify.
    pub async fn open_session(
        self,
        id: WidgetId,
        origin: Option<&str>,
        ip: Option<IpAddr>,
        visitor_token: Option<&str>,
    ) -> Result<SessionOpened, CoreError> {
        let core = self.core;
        let row = self.enabled(id).await?;
        check_allowed(&row, origin)?;
        let c = &core.config().widgets;
        core.visitor_budget("widget_sessions", ip, c.sessions_per_ip_hour)
            .await?;
        let s = settings(&row)?;
        let now = meetvault_jobs::now_ms();
        let claims = match visitor_token {
            Some(t) => Some(core.verify_visitor(&row, id, t, now).await?),
            None if s.require_identity => {
                tracing::info!(widget = %id, "a session without the visitor token this widget requires");
                return Err(CoreError::InvalidToken);
            }
            None => None,
        };
        let sid = Uuid::new_v4();
        let token = Token::generate(token::WIDGET_SESSION);
        let visitor = match &claims {
            Some(v) => {
                let json = Zeroizing::new(serde_json::to_vec(v).map_err(CoreError::internal)?);
                Some(
                    core.seal_org_field(row.org_id, "widget_sessions", sid, "visitor", &json)
                        .await?,
                )
            }
            None => None,
        };
        let ttl = i64::try_from(c.session_ttl_secs).unwrap_or(3600) * 1000;
        let session = WidgetSessionRow {
            id: sid,
            org_id: row.org_id,
            widget_id: row.id,
            token_hash: token::sha256_hex(token.expose()),
            visitor,
            chunks: 0,
            bytes: 0,
            state: "open".into(),
            meeting_id: None,
            created_at: now,
            expires_at: now + ttl,
        };
        core.db().insert_widget_session(&session).await?;
        let live = s.live_transcript
            && core.start_widget_live(super::live::Opening {
                org: row.org_id,
                sid,
                widget: row.id,
                token_hash: &session.token_hash,
                who: super::budget::visitor_key(ip),
                max_seconds: s.max_seconds,
            });
        Ok(SessionOpened {
            live,
            token: Zeroizing::new(token.expose().to_owned()),
            expires_at: DateTime::from_timestamp_millis(session.expires_at).unwrap_or_default(),
            max_seconds: s.max_seconds,
            max_chunk_bytes: c.max_chunk_bytes,
            identified: claims.is_some(),
        })
    }

    /// Stores chunk `seq` (0, 1, 2… in order) of the session `bearer` names; answers the next
    /// position expected.
    pub async fn put_chunk(
        self,
        id: WidgetId,
        origin: Option<&str>,
        bearer: &str,
        seq: u32,
        audio: Bytes,
    ) -> Result<u32, CoreError> {
        let core = self.core;
        let (row, session) = self.session(id, origin, bearer).await?;
        if session.state != "open" {
            return Err(CoreError::Conflict(
                "this recording was submitted already; open a new session for another".into(),
            ));
        }
        let max = core.config().widgets.max_chunk_bytes;
        if audio.is_empty() {
            return Err(CoreError::invalid("body", "an empty chunk"));
        }
        if audio.len() as u64 > max {
            return Err(CoreError::TooLarge { limit: max });
        }
        let expected = u32::try_from(session.chunks).unwrap_or(u32::MAX);
        if seq != expected {
            return Err(CoreError::Conflict(format!(
                "chunks arrive in order: the next one expected is {expected}"
            )));
        }
        let cap = session_cap(settings(&row)?.max_seconds);
        let size = i64::try_from(audio.len()).unwrap_or(i64::MAX);
        if session.bytes + size > cap {
            return Err(CoreError::invalid(
                "body",
                "the recording is longer than this widget allows; submit what was sent",
            ));
        }
        let org = session.org_id;
        // The position first: of two uploads of it, only the one that reserved it writes (and
        // nothing is written once the session is submitted or gone).
        if !core
            .db()
            .widget_chunk_added(org, session.id, session.chunks, size, cap)
            .await?
        {
            return Err(CoreError::Conflict(
                "this chunk was received already; send the next one".into(),
            ));
        }
        let pos = i64::from(seq);
        let stored = async {
            let sealed = core
                .seal_org_field(
                    org,
                    "widget_sessions",
                    chunk_row(session.id, pos),
                    "chunk",
                    &audio,
                )
                .await?;
            core.blobs()
                .put(&chunk_key(org, session.id, pos)?, Bytes::from(sealed))
                .await?;
            Ok::<_, CoreError>(())
        }
        .await;
        if let Err(e) = stored {
            core.db()
                .widget_chunk_unreserve(org, session.id, session.chunks, size)
                .await?;
            return Err(e);
        }
        core.feed_widget_live(session.id, seq, &audio);
        Ok(expected + 1)
    }

    /// Submits the session `bearer` names: its chunks become a meeting, made by a job (a
    /// repeated submission answers the same and queues nothing new).
    pub async fn submit(
        self,
        id: WidgetId,
        origin: Option<&str>,
        ip: Option<IpAddr>,
        bearer: &str,
    ) -> Result<(), CoreError> {
        let core = self.core;
        let (_, session) = self.session(id, origin, bearer).await?;
        core.end_widget_live(session.id);
        if session.chunks == 0 {
            return Err(CoreError::invalid(
                "chunks",
                "nothing was recorded: send the audio before submitting",
            ));
        }
        if session.state == "open" {
            let c = &core.config().widgets;
            core.visitor_budget("widget_submissions", ip, c.submissions_per_ip_hour)
                .await?;
            // The org's own share: visitors from many addresses cannot spend this server's
            // transcription (nor the org's summary provider) beyond it.
            core.hourly_budget(
                &format!("widget_submissions_org:{}", session.org_id),
                c.submissions_per_org_hour,
            )
            .await?;
            // The job's to finish from here: it has a week (then the sweeper deletes what is
            // left, had it failed all along).
            let now = meetvault_jobs::now_ms();
            let keep = now + 7 * 24 * 3_600_000;
            let submitted = core
                .db()
                .submit_widget_session(session.org_id, session.id, Uuid::new_v4(), keep, now)
                .await?;
            if !submitted {
                // Another submission of it won (then it is queued as below), or it expired.
                let now_submitted = core
                    .db()
                    .widget_session(session.org_id, session.id)
                    .await?
                    .is_some_and(|s| s.state == "submitted");
                if !now_submitted {
                    return Err(CoreError::InvalidToken);
                }
            }
            let mut e = Event::new(
                AuditAction::WidgetSubmission,
                Actor::Anonymous,
                Outcome::Success,
            );
            e.org_id = Some(session.org_id.into());
            e.resource = Some(id.to_string());
            if submitted {
                core.audit(e).await?;
            }
        }
        core.queue()
            .enqueue(NewJob {
                org_id: Some(session.org_id),
                kind: SUBMIT_JOB,
                payload: serde_json::json!({}),
                resource_id: Some(session.id),
            })
            .await
            .map_err(crate::jobs_error)?;
        Ok(())
    }

    /// The live session `bearer` names, of widget `id`, asked for from an allowed origin.
    pub(super) async fn session(
        self,
        id: WidgetId,
        origin: Option<&str>,
        bearer: &str,
    ) -> Result<(WidgetRow, WidgetSessionRow), CoreError> {
        let row = self.enabled(id).await?;
        check_allowed(&row, origin)?;
        let token =
            Token::parse(token::WIDGET_SESSION, bearer).map_err(|_| CoreError::InvalidToken)?;
        let session = self
            .core
            .db()
            .widget_session_by_token(&token::sha256_hex(token.expose()))
            .await?
            .filter(|s| s.widget_id == row.id)
            .ok_or(CoreError::InvalidToken)?;
        if session.state == "open" && session.expires_at < meetvault_jobs::now_ms() {
            return Err(CoreError::InvalidToken);
        }
        Ok((row, session))
    }
}

/// `origin` must be one the widget allows (browsers send it on every cross-origin request).
pub(super) fn check_allowed(row: &WidgetRow, origin: Option<&str>) -> Result<(), CoreError> {
    let allowed: Vec<String> = serde_json::from_str(&row.allowed_origins).unwrap_or_default();
    match origin {
        Some(o) if allowed.iter().any(|a| a == o) => Ok(()),
        _ => Err(CoreError::OriginNotAllowed),
    }
}

impl Core {
    /// Verifies a visitor token against the widget's secret (audience: the widget's id); why
    /// one fails is logged, never answered.
    async fn verify_visitor(
        &self,
        row: &WidgetRow,
        id: WidgetId,
        token: &str,
        now_ms: i64,
    ) -> Result<VisitorView, CoreError> {
        let secret = self
            .open_org_field(row.org_id, "widgets", row.id, "secret", &row.secret)
            .await?;
        match meetvault_oidc::visitor::verify_visitor_token(
            token,
            &secret,
            &id.to_string(),
            now_ms / 1000,
        ) {
            Ok(c) => Ok(VisitorView {
                sub: c.sub,
                email: c.email,
                name: c.name,
                verified_at: now_ms,
            }),
            Err(e) => {
                tracing::info!(widget = %id, reason = %e, "a visitor token was refused");
                Err(CoreError::InvalidToken)
            }
        }
    }

    /// Deletes a session's chunks (and one past them, where a lost race may have left one),
    /// then the session.
    async fn forget_widget_session(&self, s: &WidgetSessionRow) -> Result<(), CoreError> {
        for seq in 0..=i64::from(s.chunks) {
            self.delete_blob(&chunk_key(s.org_id, s.id, seq)?).await;
        }
        self.db().delete_widget_session(s.org_id, s.id).await?;
        Ok(())
    }

    /// Every session of a widget being deleted, with its chunks.
    pub(super) async fn forget_widget_sessions(&self, w: &WidgetRow) -> Result<(), CoreError> {
        self.forget_widget_live_of(w.id);
        for s in self.db().widget_sessions_of(w.org_id, w.id).await? {
            self.forget_widget_session(&s).await?;
        }
        Ok(())
    }

    /// Whether the meeting is a widget's submission that asked for a summary.
    pub(crate) async fn widget_wants_summary(
        &self,
        org: Uuid,
        meeting: Uuid,
    ) -> Result<bool, CoreError> {
        Ok(self
            .db()
            .widget_submission(org, meeting)
            .await?
            .is_some_and(|s| s.summarize))
    }

    /// Where a meeting came from, when a widget's visitor submitted it: the widget, and the
    /// visitor's verified identity (opened with the meeting's keys, as its reader may).
    pub(crate) async fn widget_source(
        &self,
        meeting: &MeetingRow,
        keys: &crate::vault::MeetingKeys,
    ) -> Result<Option<WidgetSource>, CoreError> {
        let Some(s) = self
            .db()
            .widget_submission(meeting.org_id, meeting.id)
            .await?
        else {
            return Ok(None);
        };
        let visitor = match &s.visitor {
            Some(sealed) => {
                let json = keys.bytes(
                    meeting.org_id,
                    "widget_submissions",
                    meeting.id,
                    "visitor",
                    sealed,
                )?;
                Some(
                    serde_json::from_slice(&json)
                        .map_err(|_| CoreError::Integrity("widget visitor".into()))?,
                )
            }
            None => None,
        };
        Ok(Some(WidgetSource {
            widget_id: s.widget_id.map(Into::into),
            visitor,
        }))
    }

    /// The submission job: the meeting (made once: its id was fixed at submission), its
    /// recording from the chunks in order (stored once), then the chunks and the session go.
    async fn run_widget_submission(&self, org: Uuid, sid: Uuid) -> Result<(), CoreError> {
        let Some(session) = self.db().widget_session(org, sid).await? else {
            return Ok(()); // done before, or its widget was deleted
        };
        let (Some(meeting_id), "submitted") = (session.meeting_id, session.state.as_str()) else {
            return Ok(());
        };
        let Some(widget) = self.db().widget(org, session.widget_id).await? else {
            return self.forget_widget_session(&session).await;
        };
        let s = settings(&widget)?;
        let mut audio = Vec::with_capacity(usize::try_from(session.bytes).unwrap_or(0));
        for seq in 0..i64::from(session.chunks) {
            let sealed: Vec<u8> = self
                .blobs()
                .get_stream(&chunk_key(org, sid, seq)?)
                .await?
                .try_fold(Vec::new(), |mut acc, b| async move {
                    acc.extend_from_slice(&b);
                    Ok(acc)
                })
                .await?;
            let plain = self
                .open_org_field(
                    org,
                    "widget_sessions",
                    chunk_row(sid, seq),
                    "chunk",
                    &sealed,
                )
                .await?;
            audio.extend_from_slice(&plain);
        }
        let whole = i64::try_from(audio.len()).is_ok_and(|n| n == session.bytes);
        let audio = Bytes::from(audio);
        // Checked before anything is made of it: chunks that do not add up to what was
        // counted, audio that does not decode or runs longer than the widget allows, are
        // dropped with their session.
        let usable = if whole {
            check_audio(audio.clone(), s.max_seconds).await
        } else {
            Err(CoreError::Integrity(
                "widget chunks differ from what was counted".into(),
            ))
        };
        if let Err(e) = usable {
            tracing::info!(error = %e, "a widget submission was not usable audio; dropped");
            let mut entry = Event::new(
                AuditAction::WidgetSubmission,
                Actor::System,
                Outcome::Failure,
            );
            entry.org_id = Some(org.into());
            entry.resource = Some(WidgetId::from(widget.id).to_string());
            self.audit(entry.reason("unusable_audio")).await?;
            return self.forget_widget_session(&session).await;
        }
        let visitor: Option<VisitorView> = match &session.visitor {
            Some(sealed) => {
                let plain = self
                    .open_org_field(org, "widget_sessions", session.id, "visitor", sealed)
                    .await?;
                Some(
                    serde_json::from_slice(&plain)
                        .map_err(|_| CoreError::Integrity("widget visitor".into()))?,
                )
            }
            None => None,
        };
        // Each step is done once, whichever run of this job (a retry after a crash, or two
        // at once) gets to it: the meeting's id was fixed at submission.
        let meeting = match self.db().meeting(org, meeting_id).await? {
            Some(m) => m,
            None => {
                self.widget_meeting(&widget, &session, meeting_id, visitor.as_ref())
                    .await?
            }
        };
        self.settle_widget_meeting(&widget, &meeting, visitor.as_ref(), &s)
            .await?;
        let recordings = self.db().recordings(org, meeting_id).await?;
        if recordings.is_empty() {
            let opts = UploadOptions {
                content_type: None,
                speaker: Some(VISITOR.into()),
                filename: None,
                transcribe: Some(true),
            };
            let body = futures::stream::once(async move { Ok::<_, std::io::Error>(audio) });
            self.store_recording(&meeting, &opts, body).await?;
        } else {
            // Stored by a run cut off before its transcription was queued (a waiting job
            // is reused).
            for r in recordings.iter().filter(|r| r.transcribed_at.is_none()) {
                self.enqueue_transcription(org, meeting_id, r.id).await?;
            }
        }
        self.forget_widget_session(&session).await
    }

    /// A submission's meeting: in the widget's workspace, owned by its creator, titled with the
    /// widget's name (and the visitor's verified name), one participant.
    async fn widget_meeting(
        &self,
        widget: &WidgetRow,
        session: &WidgetSessionRow,
        id: Uuid,
        visitor: Option<&VisitorView>,
    ) -> Result<MeetingRow, CoreError> {
        let org = widget.org_id;
        let who = visitor
            .as_ref()
            .and_then(|v| v.name.clone().or_else(|| v.email.clone()))
            .unwrap_or_else(|| VISITOR.to_owned());
        let title = format!("{}: voice note from {who}", widget.name);
        let (kref, key) = self.meeting_write_key(org, id, widget.owner_id).await?;
        let seal = |table: &'static str, row: Uuid, field: &'static str, plain: &[u8]| {
            envelope::encrypt(&key, kref, &bind(org, table, row, field), plain)
        };
        let row = MeetingRow {
            id,
            org_id: org,
            workspace_id: widget.workspace_id,
            owner_id: widget.owner_id,
            title: seal("meetings", id, "title", title.as_bytes()),
            created_at: Utc::now(),
            started_at: DateTime::from_timestamp_millis(session.created_at),
            language: None,
            // Transcribed here, whatever the server's default provider: a visitor's voice
            // leaves for no one's account.
            transcription: serde_json::to_string(&crate::meetings::TranscriptionSettings {
                provider: Some(meetvault_config::TranscriptionProvider::Local),
                ..Default::default()
            })
            .map_err(CoreError::internal)?,
            updated_at: None,
            glossary: None,
            intelligence: None,
            widget_id: Some(widget.id),
        };
        let pid = Uuid::new_v4();
        let participant = ParticipantRow {
            id: pid,
            org_id: org,
            meeting_id: id,
            position: 0,
            name: seal("meeting_participants", pid, "name", who.as_bytes()),
            email: visitor
                .and_then(|v| v.email.as_ref())
                .map(|e| seal("meeting_participants", pid, "email", e.as_bytes())),
        };
        let created = outbox_event(
            org,
            &DomainEvent::MeetingCreated(crate::events::MeetingRef {
                meeting_id: id.into(),
                workspace_id: widget.workspace_id.into(),
            }),
            None,
        )?;
        if let Err(e) = self
            .db()
            .insert_meeting(&row, &[participant], &[created])
            .await
        {
            // Another run made it meanwhile: its keys are the meeting's, not to be shredded.
            if self.db().meeting(org, id).await?.is_none() {
                self.encryption()
                    .shred_meeting_keys(org.into(), id.into())
                    .await?;
            }
            return Err(e.into());
        }
        self.events().wake(id);
        let mut entry = Event::new(AuditAction::MeetingCreate, Actor::System, Outcome::Success);
        entry.org_id = Some(org.into());
        entry.resource = Some(crate::ids::MeetingId::from(id).to_string());
        self.audit(entry).await?;
        Ok(row)
    }

    /// What a submission's meeting holds beside its rows (each write repeatable): the
    /// visitor's verified claims sealed under the meeting's key, whether a summary follows,
    /// and the widget's retention.
    async fn settle_widget_meeting(
        &self,
        widget: &WidgetRow,
        meeting: &MeetingRow,
        visitor: Option<&VisitorView>,
        s: &super::WidgetSettings,
    ) -> Result<(), CoreError> {
        let (org, id) = (meeting.org_id, meeting.id);
        let claims = match visitor {
            Some(v) => {
                let (kref, key) = self.meeting_write_key(org, id, meeting.owner_id).await?;
                let json = Zeroizing::new(serde_json::to_vec(v).map_err(CoreError::internal)?);
                Some(envelope::encrypt(
                    &key,
                    kref,
                    &bind(org, "widget_submissions", id, "visitor"),
                    &json,
                ))
            }
            None => None,
        };
        self.db()
            .insert_widget_submission(&WidgetSubmissionRow {
                meeting_id: id,
                org_id: org,
                widget_id: Some(widget.id),
                visitor: claims,
                summarize: s.on_submit == OnSubmit::Summary,
                created_at: meetvault_jobs::now_ms(),
            })
            .await?;
        if let Some(r) = &widget.retention {
            self.db().set_meeting_retention(org, id, Some(r)).await?;
        }
        Ok(())
    }
}

/// Decodes `audio` once (off the async threads): it must be audio, at most `max_seconds`
/// long (and a little more for the container's rounding).
async fn check_audio(audio: Bytes, max_seconds: u32) -> Result<(), CoreError> {
    let limits = meetvault_audio::Limits {
        max_duration_secs: f64::from(max_seconds) + 5.0,
    };
    tokio::task::spawn_blocking(move || {
        let source = std::io::Cursor::new(audio);
        meetvault_audio::decode(
            source,
            &crate::meetings::upload_hint(None),
            &limits,
            &mut |_| {},
        )
    })
    .await
    .map_err(CoreError::internal)?
    .map(|_| ())
    .map_err(crate::media::audio_error)
}

/// Deletes open sessions past their expiry with their chunks (a sweeper's turn).
pub(crate) async fn sweep_expired_sessions(core: &Core) -> Result<usize, CoreError> {
    core.prune_widget_live();
    let now = meetvault_jobs::now_ms();
    let mut swept = 0;
    for s in core.db().expired_widget_sessions(now, 500).await? {
        // Claimed first: a submission that won the race keeps its chunks.
        if core
            .db()
            .claim_expired_widget_session(s.org_id, s.id, now)
            .await?
        {
            core.forget_widget_live(s.id);
            for seq in 0..=i64::from(s.chunks) {
                core.delete_blob(&chunk_key(s.org_id, s.id, seq)?).await;
            }
            swept += 1;
        }
    }
    Ok(swept)
}

/// Runs `widget.submit` jobs.
pub struct SubmitHandler {
    pub(crate) core: Core,
}

impl std::fmt::Debug for SubmitHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubmitHandler")
    }
}

#[async_trait::async_trait]
impl meetvault_jobs::Handler for SubmitHandler {
    fn kind(&self) -> &'static str {
        SUBMIT_JOB
    }

    async fn run(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        let (Some(org), Some(session)) = (job.org_id, job.resource_id) else {
            return Err(JobError::Permanent(
                "a widget submission without its session".into(),
            ));
        };
        self.core
            .run_widget_submission(org, session)
            .await
            .map_err(|e| JobError::Retryable(e.to_string()))
    }
}
