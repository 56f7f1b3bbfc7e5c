//! Correcting a transcript: one segment's speaker or text (`edit_segment`), or a speaker's name
//! everywhere in the meeting (`rename_speaker`). Both need `meetings:write` and the right to read
//! the meeting's content (zero-access content is its owner's alone); the new values are sealed
//! like the old, under the meeting's key and bound to their row. An edited text drops the
//! segment's timed words (they would no longer match). A meeting whose transcripts are kept
//! redacted has the edit redacted too. Audited as `transcript.edit` and
//! `transcript.speaker_rename`.
//!
//! Re-transcribing a track replaces its segments, edits included; a summary made before an edit
//! is not remade by it (`POST …/summary` does).

use meetvault_crypto::envelope;

use super::{SegmentView, Transcripts};
use crate::CoreError;
use crate::access::Scope;
use crate::access::proof::MeetingsWrite;
use crate::audit::{AuditAction, Event};
use crate::ids::{MeetingId, SegmentId};
use crate::vault::{bind, check_text};

/// What to change in a segment; `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct SegmentEdit {
    pub speaker: Option<String>,
    pub text: Option<String>,
}

fn speaker_name(field: &'static str, name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    check_text(field, name, 200)?;
    Ok(name.to_owned())
}

impl Transcripts<'_> {
    /// Changes one segment; answers it as now stored.
    pub async fn edit_segment(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        segment: SegmentId,
        edit: &SegmentEdit,
    ) -> Result<SegmentView, CoreError> {
        let speaker = edit
            .speaker
            .as_deref()
            .map(|s| speaker_name("speaker", s))
            .transpose()?;
        if let Some(t) = &edit.text {
            check_text("text", t, 20_000)?;
        }
        if speaker.is_none() && edit.text.is_none() {
            return Err(CoreError::invalid(
                "text",
                "send the new speaker, text or both",
            ));
        }
        let row = self.core.meeting_row(scope, meeting).await?;
        // Editing is reading too: zero-access content stays its owner's.
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        let (org, id) = (row.org_id, segment.uuid());
        let (kref, key) = self
            .core
            .meeting_write_key(org, row.id, row.owner_id)
            .await?;
        let mut text = edit.text.as_deref().map(|t| {
            t.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        });
        if let (Some(t), Some(d)) = (&mut text, self.core.transcript_redactor(&row).await?) {
            *t = meetvault_intel::pii::Mapping::new().redact(&d, t);
        }
        let seal = |field: &'static str, value: &str| {
            envelope::encrypt(
                &key,
                kref,
                &bind(org, "transcript_segments", id, field),
                value.as_bytes(),
            )
        };
        let speaker_ct = speaker.as_deref().map(|s| seal("speaker", s));
        let text_ct = text.as_deref().map(|t| seal("text", t));
        if !self
            .core
            .db()
            .update_segment(org, row.id, id, speaker_ct.as_deref(), text_ct.as_deref())
            .await?
        {
            return Err(CoreError::NotFound("transcript segment"));
        }
        let mut event = Event::by(scope, AuditAction::TranscriptEdit).resource(row.id);
        event.reason = Some(match (&speaker, &text) {
            (Some(_), Some(_)) => "speaker,text",
            (Some(_), None) => "speaker",
            _ => "text",
        });
        self.core.audit(event).await?;
        self.core.events().wake(row.id);
        self.core
            .segments_with(&row, &keys)
            .await?
            .into_iter()
            .find(|s| s.id == segment)
            .ok_or(CoreError::NotFound("transcript segment"))
    }

    /// Renames a speaker in every segment of the meeting (exact name), and the label of their
    /// track (so a track transcribed again keeps the new name); answers how many segments
    /// changed (none is not an error: the name may be gone already).
    pub async fn rename_speaker(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        from: &str,
        to: &str,
    ) -> Result<usize, CoreError> {
        let to = speaker_name("to", to)?;
        if from.is_empty() {
            return Err(CoreError::invalid("from", "must not be empty"));
        }
        let row = self.core.meeting_row(scope, meeting).await?;
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        let org = row.org_id;
        let (kref, key) = self
            .core
            .meeting_write_key(org, row.id, row.owner_id)
            .await?;
        let seal = |table: &'static str, id: uuid::Uuid| {
            let ct = envelope::encrypt(&key, kref, &bind(org, table, id, "speaker"), to.as_bytes());
            (id, ct)
        };
        let changed: Vec<(uuid::Uuid, Vec<u8>)> = self
            .core
            .segments_with(&row, &keys)
            .await?
            .into_iter()
            .filter(|s| s.speaker == from)
            .map(|s| seal("transcript_segments", s.id.uuid()))
            .collect();
        let mut tracks = Vec::new();
        for r in self.core.db().recordings(org, row.id).await? {
            if let Some(ct) = &r.speaker
                && keys.text(org, "recordings", r.id, "speaker", ct)? == from
            {
                tracks.push(seal("recordings", r.id));
            }
        }
        self.core
            .db()
            .set_speakers(org, row.id, &changed, &tracks)
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::TranscriptSpeakerRename).resource(row.id))
            .await?;
        self.core.events().wake(row.id);
        Ok(changed.len())
    }
}
