//! Completing a participant's deletion request: what each target meeting holds of them, found
//! by the speaker name its transcript shows (and, for participant records, by the requester's
//! email), deleted with a certificate of subject `participant`.
//!
//! What goes, per meeting: transcript segments whose speaker is that name; recordings labelled
//! with it (their per-speaker audio) and — unless the owner keeps them — the meeting's mixed
//! recordings, which hold every voice; the bot's record of the participant, the tracks mapped
//! to them (every audio chunk) and their chat messages; the meeting's participant list entries
//! with that name or email; and the outbox events whose content is theirs (segments, live
//! segments). The meeting, its other participants and its keys stay.
//!
//! Like every deletion it counts first, onto a pending certificate (ids and counts only), then
//! deletes idempotently, audits once and issues; a crash in between is finished by the
//! sweeper ([`Core::finish_pending_deletions`]).

use chrono::Utc;
use meetvault_store::BlobKey;
use meetvault_store::certificates::CertificateRow;
use meetvault_store::requests::{DeletionRequestRow, ParticipantRows};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RequestState;
use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome, format_time};
use crate::certificates::bucket::{BucketObject, BucketOutcome};
use crate::certificates::{
    self, Certificate, CertificateView, Deleted, Retained, Subject, document,
};
use crate::email::Email;
use crate::events::{LIVE_SEGMENT, SegmentWords, open_content};
use crate::ids::{CertificateId, DeletionRequestId, MeetingId, OrgId};
use crate::{Core, CoreError};

/// A participant erasure's certificate subject kind.
pub(crate) const KIND: &str = "participant";
/// The most meetings one request may name.
const MAX_TARGETS: usize = 50;

/// The participant in one meeting.
#[derive(Debug, Clone)]
pub struct Target {
    pub meeting_id: MeetingId,
    /// The speaker name the meeting's transcript shows for them.
    pub speaker: String,
}

/// What becomes of a meeting's mixed recordings (every voice in one file) when a participant
/// is erased from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MixedRecordings {
    /// Deleted: the participant's voice is in them.
    #[default]
    Delete,
    /// Kept (the certificate says so): the owner judged them needed.
    Keep,
}

/// What a participant erasure found in one meeting (ids only).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MeetingPart {
    meeting_id: Uuid,
    segments: Vec<Uuid>,
    /// Per-speaker recordings: `(id, blob key, stored bytes)`; none for a blob gone already.
    recordings: Vec<(Uuid, Option<String>, i64)>,
    /// Mixed recordings deleted with them.
    mixed: Vec<(Uuid, Option<String>, i64)>,
    /// Mixed recordings kept at the owner's word.
    mixed_kept: u64,
    meeting_participants: Vec<Uuid>,
    bot_participants: Vec<Uuid>,
    chat_messages: Vec<Uuid>,
    /// `(bot, track)`.
    tracks: Vec<(Uuid, String)>,
    /// The tracks' audio chunk blobs, and their audio bytes.
    chunks: Vec<String>,
    chunk_bytes: u64,
    events: Vec<Uuid>,
    /// The events' sequence numbers: their webhook deliveries go too.
    #[serde(default)]
    event_seqs: Vec<i64>,
    /// Webhook deliveries of those events (counted when begun).
    #[serde(default)]
    webhook_deliveries: u64,
    /// Deliveries to customers' buckets made before meetvault kept a ledger of what it wrote
    /// (their files are out of reach by key).
    bucket_copies: u64,
    /// The erased recordings' objects in customers' buckets (from the ledger).
    #[serde(default)]
    bucket_objects: Vec<BucketObject>,
    /// The chat and transcript files delivered beside them: every participant's words at once.
    #[serde(default)]
    bucket_documents: u64,
}

impl MeetingPart {
    /// Whether anything in the meeting carries the speaker name (a participant-list entry
    /// matched by email alone does not: a mistyped name must not complete a request).
    fn names_them(&self) -> bool {
        !(self.segments.is_empty()
            && self.recordings.is_empty()
            && self.bot_participants.is_empty()
            && self.chat_messages.is_empty())
    }
}

/// A participant erasure's pending state, on its certificate row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Draft {
    request_id: Uuid,
    decided_by: Uuid,
    meetings: Vec<MeetingPart>,
    /// The owner's note to the requester, sealed under the org's key (hex).
    #[serde(default)]
    note: Option<String>,
    /// What deleting the erased recordings' objects from customers' buckets did, once done.
    #[serde(default)]
    bucket_outcome: Option<BucketOutcome>,
    requested_at: String,
    salt: String,
    subject_digest: String,
    #[serde(default)]
    audit_seq: Option<i64>,
    #[serde(default)]
    certificate: Option<Certificate>,
}

fn is_mixed(label: Option<&str>) -> bool {
    matches!(label, None | Some("mixed"))
}

impl Core {
    /// Finds what each target holds of the participant and writes the pending certificate.
    pub(super) async fn begin_participant_erasure(
        &self,
        user: Uuid,
        row: &DeletionRequestRow,
        email: &str,
        completion: super::Completion,
        note: Option<String>,
    ) -> Result<CertificateRow, CoreError> {
        let org = row.org_id;
        if completion.targets.is_empty() {
            return Err(CoreError::invalid(
                "targets",
                "name at least one meeting and the speaker the participant is in it",
            ));
        }
        if completion.targets.len() > MAX_TARGETS {
            return Err(CoreError::invalid(
                "targets",
                format!("at most {MAX_TARGETS} meetings per request"),
            ));
        }
        let mut meetings = Vec::with_capacity(completion.targets.len());
        for (i, t) in completion.targets.iter().enumerate() {
            let speaker = t.speaker.trim();
            if speaker.is_empty() || speaker.chars().count() > 200 {
                return Err(CoreError::invalid(
                    "targets",
                    format!("targets[{i}].speaker must be between 1 and 200 characters"),
                ));
            }
            if meetings
                .iter()
                .any(|m: &MeetingPart| m.meeting_id == t.meeting_id.uuid())
            {
                return Err(CoreError::invalid(
                    "targets",
                    format!("targets[{i}] names meeting {} twice", t.meeting_id),
                ));
            }
            let part = self
                .participant_in(user, org, t, speaker, email, completion.mixed_recordings)
                .await
                .map_err(|e| match e {
                    CoreError::NotFound(_) => CoreError::invalid(
                        "targets",
                        format!(
                            "targets[{i}]: meeting {} is not one of this organization's",
                            t.meeting_id
                        ),
                    ),
                    other => other,
                })?;
            if !part.names_them() {
                return Err(CoreError::invalid(
                    "targets",
                    format!(
                        "targets[{i}]: nothing in meeting {} is by {speaker:?}; use the speaker name its transcript shows",
                        t.meeting_id
                    ),
                ));
            }
            meetings.push(part);
        }
        let note = match note {
            Some(n) => Some(hex::encode(
                self.seal_org_field(org, "deletion_requests", row.id, "decision", n.as_bytes())
                    .await?,
            )),
            None => None,
        };
        let salt = certificates::fresh_salt();
        let id = DeletionRequestId::from(row.id).to_string();
        // Reserved before the certificate is written: from here on nobody else completes or
        // rejects it (a completion a crash cut off finds it `completing`).
        if row.state == RequestState::Open.as_str()
            && !self.db().reserve_deletion_request(org, row.id).await?
        {
            return Err(CoreError::Conflict("the request is no longer open".into()));
        }
        let draft = Draft {
            request_id: row.id,
            decided_by: user,
            meetings,
            note,
            bucket_outcome: None,
            requested_at: format_time(Utc::now()),
            salt: hex::encode(salt),
            subject_digest: document::subject_digest(
                &salt,
                KIND,
                &id,
                &email.trim().to_lowercase(),
            ),
            audit_seq: None,
            certificate: None,
        };
        self.begin_certificate(org, KIND, row.id, &draft).await
    }

    /// What meeting `t` holds of the participant named `speaker` (or with `email`).
    async fn participant_in(
        &self,
        user: Uuid,
        org: Uuid,
        t: &Target,
        speaker: &str,
        email: &str,
        mixed: MixedRecordings,
    ) -> Result<MeetingPart, CoreError> {
        let meeting = self
            .db()
            .meeting(org, t.meeting_id.uuid())
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        if user != meeting.owner_id
            && self
                .db()
                .user_key(org, meeting.owner_id)
                .await?
                .is_some_and(|k| k.mode == "zero_access")
        {
            return Err(CoreError::ZeroAccessOwnerOnly);
        }
        let busy = self
            .queue()
            .jobs_for(org, meeting.id)
            .await
            .map_err(crate::jobs_error)?
            .iter()
            .any(|j| matches!(j.state.as_str(), "queued" | "running"));
        if busy {
            return Err(CoreError::Conflict(format!(
                "meeting {} is still being transcribed; complete the request once its jobs are done",
                t.meeting_id
            )));
        }
        let keys = self
            .meeting_read_keys(org, meeting.id, meeting.owner_id)
            .await?;
        let m = meeting.id;
        let mut part = MeetingPart {
            meeting_id: m,
            ..MeetingPart::default()
        };
        for s in self.db().segments(org, m).await? {
            if keys.text(org, "transcript_segments", s.id, "speaker", &s.speaker)? == speaker {
                part.segments.push(s.id);
            }
        }
        let mut mixed_found = Vec::new();
        for r in self.db().recordings(org, m).await? {
            let label = match &r.speaker {
                Some(ct) => Some(keys.text(org, "recordings", r.id, "speaker", ct)?),
                None => None,
            };
            let blob = r.local_deleted_at.is_none().then(|| r.blob_key.clone());
            let entry = (
                r.id,
                blob,
                if r.local_deleted_at.is_none() {
                    r.stored_size
                } else {
                    0
                },
            );
            if label.as_deref() == Some(speaker) {
                part.recordings.push(entry);
            } else if is_mixed(label.as_deref()) {
                mixed_found.push(entry);
            }
        }
        let wanted_email = email.trim().to_lowercase();
        for p in self.db().participants(org, m).await? {
            let name = keys.text(org, "meeting_participants", p.id, "name", &p.name)?;
            let mail = match &p.email {
                Some(ct) => Some(keys.text(org, "meeting_participants", p.id, "email", ct)?),
                None => None,
            };
            if name.trim() == speaker
                || mail.is_some_and(|e| e.trim().to_lowercase() == wanted_email)
            {
                part.meeting_participants.push(p.id);
            }
        }
        if let Some(bot) = self.db().bot_of_meeting(org, m).await? {
            if !crate::bots::state_of(&bot)?.is_terminal() || bot.audio_processed_at.is_none() {
                return Err(CoreError::Conflict(format!(
                    "meeting {}'s bot is still in the meeting or processing it; complete the request once the bot has ended",
                    t.meeting_id
                )));
            }
            let mut ext_ids = Vec::new();
            for p in self.db().bot_participants(org, bot.id).await? {
                let name = match &p.name {
                    Some(ct) => Some(keys.text(org, "bot_participants", p.id, "name", ct)?),
                    None => None,
                };
                if name.as_deref().map(str::trim) == Some(speaker) {
                    part.bot_participants.push(p.id);
                    if let Some(track) = &p.track {
                        part.tracks.push((bot.id, track.clone()));
                    }
                    ext_ids.push(p.ext_id);
                }
            }
            for tr in self.db().bot_tracks(org, bot.id).await? {
                if tr
                    .participant_id
                    .as_ref()
                    .is_some_and(|p| ext_ids.contains(p))
                    && !part.tracks.iter().any(|(_, t)| *t == tr.track)
                {
                    part.tracks.push((bot.id, tr.track));
                }
            }
            for c in self.db().bot_chat(org, bot.id).await? {
                let by_id = c.sender_id.as_ref().is_some_and(|s| ext_ids.contains(s));
                if by_id
                    || keys.text(org, "bot_chat_messages", c.id, "sender", &c.sender)? == speaker
                {
                    part.chat_messages.push(c.id);
                }
            }
            for (b, track) in &part.tracks {
                for chunk in self.db().audio_chunks_of_track(org, *b, track).await? {
                    part.chunk_bytes += u64::try_from(chunk.samples * 2).unwrap_or(0);
                    part.chunks.push(chunk.blob_key);
                }
            }
        }
        // Content events: segments by that speaker, live segments of their tracks.
        const PAGE: i64 = 500;
        let mut after = 0;
        loop {
            let rows = self.db().events_after(org, Some(m), after, PAGE).await?;
            for r in &rows {
                if r.sealed.is_none() {
                    continue;
                }
                let words: SegmentWords = serde_json::from_slice(&open_content(r, &keys)?)
                    .map_err(|e| CoreError::Integrity(format!("outbox event {}: {e}", r.seq)))?;
                let live_track = (r.kind == LIVE_SEGMENT)
                    .then(|| serde_json::from_str::<crate::events::LiveTiming>(&r.data).ok())
                    .flatten()
                    .is_some_and(|t| {
                        part.tracks
                            .iter()
                            .any(|(b, tr)| *b == t.bot_id.uuid() && *tr == t.track)
                    });
                if words.speaker == speaker || live_track {
                    part.events.push(r.id);
                    part.event_seqs.push(r.seq);
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == PAGE => after = last.seq,
                _ => break,
            }
        }
        if part.names_them() {
            part.webhook_deliveries = self
                .db()
                .webhook_deliveries_of_events(org, m, &part.event_seqs)
                .await?;
            for entry in mixed_found {
                match mixed {
                    MixedRecordings::Delete => part.mixed.push(entry),
                    MixedRecordings::Keep => part.mixed_kept += 1,
                }
            }
            let erased: Vec<Uuid> = part
                .recordings
                .iter()
                .chain(&part.mixed)
                .map(|r| r.0)
                .collect();
            for o in self.bucket_objects_of(org, m).await? {
                match o.recording_id {
                    Some(r) if erased.contains(&r) => part.bucket_objects.push(o),
                    Some(_) => {}
                    None => part.bucket_documents += 1,
                }
            }
            let inv = self.db().meeting_inventory(org, m).await?;
            part.bucket_copies = u64::try_from(inv.deliveries_before_ledger).unwrap_or(0);
        }
        Ok(part)
    }

    /// The `test-access` door to a completion cut off after its first step: its pending
    /// certificate written, nothing deleted yet.
    #[cfg(feature = "test-access")]
    pub async fn begin_deletion_request_completion_for_tests(
        &self,
        org: Uuid,
        request: Uuid,
        user: Uuid,
        targets: Vec<Target>,
    ) -> Result<(), CoreError> {
        let row = self
            .db()
            .deletion_request(org, request)
            .await?
            .ok_or(CoreError::NotFound("deletion request"))?;
        let details = self.request_details(&row).await?;
        let completion = super::Completion {
            targets,
            mixed_recordings: MixedRecordings::Delete,
            note: None,
        };
        self.begin_participant_erasure(user, &row, &details.email, completion, None)
            .await?;
        Ok(())
    }

    /// Does (or redoes) a participant erasure, audits it once, closes the request and issues
    /// the certificate; then tells the requester.
    pub(crate) async fn finish_participant_erasure(
        &self,
        cert: &CertificateRow,
        actor: Actor,
    ) -> Result<CertificateView, CoreError> {
        let mut draft: Draft = serde_json::from_str(cert.draft.as_deref().unwrap_or_default())
            .map_err(CoreError::internal)?;
        let org = cert.org_id;
        for part in &draft.meetings {
            for (bot, track) in &part.tracks {
                // Stops a live transcriber of it, and drops its live segments.
                self.drop_live_track(*bot, track).await?;
            }
            let blobs = part
                .recordings
                .iter()
                .chain(&part.mixed)
                .filter_map(|(_, key, _)| key.as_ref())
                .chain(&part.chunks);
            for key in blobs {
                self.delete_blob(&BlobKey::parse(key)?).await;
            }
            let rows = ParticipantRows {
                segments: part.segments.clone(),
                recordings: part
                    .recordings
                    .iter()
                    .chain(&part.mixed)
                    .map(|r| r.0)
                    .collect(),
                meeting_participants: part.meeting_participants.clone(),
                bot_participants: part.bot_participants.clone(),
                chat_messages: part.chat_messages.clone(),
                tracks: part.tracks.clone(),
                events: part.events.clone(),
                event_seqs: part.event_seqs.clone(),
            };
            self.db()
                .delete_participant_rows(org, part.meeting_id, &rows)
                .await?;
            // The summary and search index quoted the participant: they go, and are made
            // again from what remains of the transcript.
            self.db()
                .delete_integration_items_of_meeting(org, part.meeting_id)
                .await?;
            if self.db().delete_meeting_intel(org, part.meeting_id).await? > 0 {
                self.summary_after_transcript(org, part.meeting_id).await?;
            }
            self.events().wake(part.meeting_id);
        }
        if draft.certificate.is_none() && draft.bucket_outcome.is_none() {
            let objects: Vec<BucketObject> = draft
                .meetings
                .iter()
                .flat_map(|m| m.bucket_objects.iter().cloned())
                .collect();
            draft.bucket_outcome = Some(self.delete_bucket_objects(org, &objects).await?);
            let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
            self.db().save_certificate_draft(cert.id, &text).await?;
        }
        let certificate = match draft.certificate.clone() {
            Some(c) => c,
            None => {
                let seq = match draft.audit_seq {
                    Some(seq) => seq,
                    None => {
                        let mut event = Event::new(
                            AuditAction::DeletionRequestComplete,
                            actor,
                            Outcome::Success,
                        );
                        event.org_id = Some(OrgId::from(org));
                        event.resource =
                            Some(DeletionRequestId::from(draft.request_id).to_string());
                        self.audit(event).await?
                    }
                };
                draft.audit_seq = Some(seq);
                let c = self.participant_certificate(cert, &draft, actor, seq);
                draft.certificate = Some(c.clone());
                let text = serde_json::to_string(&draft).map_err(CoreError::internal)?;
                self.db().save_certificate_draft(cert.id, &text).await?;
                c
            }
        };
        let note = match &draft.note {
            Some(h) => Some(hex::decode(h).map_err(CoreError::internal)?),
            None => None,
        };
        let now = Utc::now().timestamp_millis();
        self.db()
            .decide_deletion_request(
                org,
                draft.request_id,
                RequestState::Completed.as_str(),
                note.as_deref(),
                Some(draft.decided_by),
                Some(cert.id),
                now,
                &[super::changed(
                    org,
                    draft.request_id,
                    RequestState::Completed,
                    Some(cert.id),
                    now,
                )?],
            )
            .await?;
        let view = self.issue_certificate(cert, actor, &certificate).await?;
        self.tell_requester_completed(org, draft.request_id, cert.id)
            .await;
        Ok(view)
    }

    async fn tell_requester_completed(&self, org: Uuid, request: Uuid, cert: Uuid) {
        let Ok(Some(row)) = self.db().deletion_request(org, request).await else {
            return;
        };
        let (Ok(details), Ok(Some(o))) =
            (self.request_details(&row).await, self.db().org(org).await)
        else {
            return;
        };
        let base = super::public_base(self);
        self.notify(Email {
            to: details.email,
            subject: format!("Your deletion request to {} is done", o.name),
            body: format!(
                "Hello {},\n\n{} has deleted what its meetings held of you. Its signed deletion certificate, which anyone can verify, is at:\n\n  {base}/api/certificates/{}\n\nThe status page in our first email shows it too.\n",
                details.name,
                o.name,
                CertificateId::from(cert)
            ),
        })
        .await;
    }

    fn participant_certificate(
        &self,
        cert: &CertificateRow,
        draft: &Draft,
        actor: Actor,
        audit_seq: i64,
    ) -> Certificate {
        let sum = |f: &dyn Fn(&MeetingPart) -> u64| draft.meetings.iter().map(f).sum::<u64>();
        let len = |v: usize| v as u64;
        let bytes = |v: &[(Uuid, Option<String>, i64)]| {
            v.iter()
                .map(|r| u64::try_from(r.2).unwrap_or(0))
                .sum::<u64>()
        };
        let recordings = sum(&|m| len(m.recordings.len()));
        let mixed = sum(&|m| len(m.mixed.len()));
        let mut deleted = vec![
            Deleted {
                kind: "transcript_segments".into(),
                count: sum(&|m| len(m.segments.len())),
                bytes: None,
                method: "row_delete".into(),
            },
            Deleted {
                kind: "chat_messages".into(),
                count: sum(&|m| len(m.chat_messages.len())),
                bytes: None,
                method: "row_delete".into(),
            },
            Deleted {
                kind: "speaker_recordings".into(),
                count: recordings,
                bytes: Some(sum(&|m| bytes(&m.recordings))),
                method: "row_delete+object_delete".into(),
            },
            Deleted {
                kind: "audio_chunks".into(),
                count: sum(&|m| len(m.chunks.len())),
                bytes: Some(sum(&|m| m.chunk_bytes)),
                method: "row_delete+object_delete".into(),
            },
            Deleted {
                kind: "participant_records".into(),
                count: sum(&|m| len(m.meeting_participants.len() + m.bot_participants.len())),
                bytes: None,
                method: "row_delete".into(),
            },
            Deleted {
                kind: "outbox_events".into(),
                count: sum(&|m| len(m.events.len())),
                bytes: None,
                method: "row_delete".into(),
            },
            Deleted {
                kind: "webhook_deliveries".into(),
                count: sum(&|m| m.webhook_deliveries),
                bytes: None,
                method: "row_delete".into(),
            },
        ];
        if mixed > 0 {
            deleted.push(Deleted {
                kind: "mixed_recordings".into(),
                count: mixed,
                bytes: Some(sum(&|m| bytes(&m.mixed))),
                method: "row_delete+object_delete".into(),
            });
        }
        let mut retained = vec![
            Retained {
                kind: "meetings".into(),
                count: Some(len(draft.meetings.len())),
                reason: format!(
                    "the meetings the participant was erased from ({}) and what others said in them stay, under their retention windows",
                    draft
                        .meetings
                        .iter()
                        .map(|m| MeetingId::from(m.meeting_id).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Retained {
                kind: "meeting_keys".into(),
                count: None,
                reason: "the meetings' keys live on with the meetings: copies of what was deleted in earlier database or storage backups stay sealed under them until the meetings' own deletion destroys them".into(),
            },
            Retained {
                kind: "deletion_request".into(),
                count: Some(1),
                reason: "the request and its outcome (the requester's contact details sealed under the org's key) stay with the org, so the requester can fetch this outcome".into(),
            },
            certificates::audit_entries_kept(),
            certificates::this_certificate_kept(),
        ];
        let kept_mixed = sum(&|m| m.mixed_kept);
        if kept_mixed > 0 {
            retained.push(Retained {
                kind: "mixed_recordings".into(),
                count: Some(kept_mixed),
                reason: "recordings of every voice at once, kept at the meeting owner's decision; the participant's transcript lines and own audio are gone".into(),
            });
        }
        BucketOutcome::certify(draft.bucket_outcome.as_ref(), &mut deleted, &mut retained);
        let documents = sum(&|m| m.bucket_documents);
        if documents > 0 {
            retained.push(Retained {
                kind: "customer_bucket_documents".into(),
                count: Some(documents),
                reason: "chat and transcript files delivered to the customer's own bucket hold every participant's words at once; meetvault does not rewrite the customer's copies: delivering the meeting again (POST /api/v1/meetings/{id}/deliver) replaces them with the redacted transcript".into(),
            });
        }
        let copies = sum(&|m| m.bucket_copies);
        if copies > 0 {
            retained.push(certificates::bucket::before_ledger(
                i64::try_from(copies).unwrap_or(i64::MAX),
            ));
        }
        Certificate {
            format: document::FORMAT.into(),
            id: CertificateId::from(cert.id).to_string(),
            issuer: self.certificate_issuer(),
            subject: Subject {
                kind: KIND.into(),
                id: DeletionRequestId::from(draft.request_id).to_string(),
                org: OrgId::from(cert.org_id).to_string(),
                salt: draft.salt.clone(),
                digest: draft.subject_digest.clone(),
            },
            part: None,
            policy: None,
            includes: Vec::new(),
            deleted,
            keys_destroyed: Vec::new(),
            retained,
            actor: actor.to_string(),
            requested_at: draft.requested_at.clone(),
            completed_at: format_time(Utc::now()),
            audit_seq,
        }
    }
}
