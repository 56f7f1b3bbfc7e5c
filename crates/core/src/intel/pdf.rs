//! A meeting as a PDF (`meetvault_pdf`): its title, start and language, the summary and action
//! items when there are any, and the transcript with speakers and times. Audited as
//! `transcript.export` with the format `pdf`, like the text exports.

use meetvault_pdf::{ActionItem, Line, MeetingDoc, Section};

use super::Intelligence;
use crate::CoreError;
use crate::access::Scope;
use crate::access::proof::MeetingsRead;
use crate::audit::{AuditAction, Event};
use crate::ids::MeetingId;

impl Intelligence<'_> {
    /// The meeting as a PDF document.
    pub async fn pdf(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<Vec<u8>, CoreError> {
        let view = self.core.meetings().get(scope, meeting).await?;
        let segments = self.core.transcripts().get(scope, meeting).await?;
        let summary = match self.summary(scope, meeting).await {
            Ok(s) => Some(s.summary),
            Err(CoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let started = view
            .started_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        let points = |list: &[super::SummaryPoint]| -> Vec<String> {
            list.iter().map(|p| p.text.clone()).collect()
        };
        let (key_points, decisions) = summary
            .as_ref()
            .map(|s| (points(&s.key_points), points(&s.decisions)))
            .unwrap_or_default();
        let key_refs: Vec<&str> = key_points.iter().map(String::as_str).collect();
        let decision_refs: Vec<&str> = decisions.iter().map(String::as_str).collect();
        let mut sections = Vec::new();
        if !key_refs.is_empty() {
            sections.push(Section {
                heading: "Key points",
                items: &key_refs,
            });
        }
        if !decision_refs.is_empty() {
            sections.push(Section {
                heading: "Decisions",
                items: &decision_refs,
            });
        }
        let actions: Vec<ActionItem<'_>> = summary
            .as_ref()
            .map(|s| {
                s.action_items
                    .iter()
                    .map(|a| ActionItem {
                        text: &a.task,
                        owner: a.owner.as_deref(),
                        due: a.due.as_deref(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let lines: Vec<Line<'_>> = segments
            .iter()
            .map(|s| Line {
                start_seconds: s.start_ms as f64 / 1000.0,
                speaker: &s.speaker,
                text: &s.text,
            })
            .collect();
        let bytes = meetvault_pdf::render(&MeetingDoc {
            title: &view.title,
            started_at: started.as_deref(),
            language: view.language.as_deref(),
            overview: summary
                .as_ref()
                .map(|s| s.overview.as_str())
                .filter(|o| !o.is_empty()),
            sections: &sections,
            action_items: &actions,
            segments: &lines,
        });
        let mut event = Event::by(scope, AuditAction::TranscriptExport).resource(meeting.uuid());
        event.reason = Some("pdf");
        self.core.audit(event).await?;
        Ok(bytes)
    }
}
