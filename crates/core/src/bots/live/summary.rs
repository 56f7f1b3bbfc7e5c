//! The rolling summary of a bot's meeting: every live segment this instance hears is kept in
//! memory for its meeting (bounded), and when the action items or decisions found in what was
//! said so far change, a sealed `summary.live` event goes on the meeting's stream. Rules only
//! (`meetvault_intel::summarize`), no model: it costs microseconds beside the live transcriber.
//! Like live text it is provisional and a restart loses it; the summary of the final
//! transcript follows as `summary.ready`. An opted-out participant's lines leave it, and the
//! meeting's earlier rolling summaries are deleted from its stream.

use std::collections::HashMap;
use std::sync::Mutex;

use meetvault_crypto::envelope::KeyRef;
use meetvault_crypto::keys::SymmetricKey;
use meetvault_intel::summarize::{self, Line};
use uuid::Uuid;

use crate::events::{
    DomainEvent, LiveActionItem, LiveDecision, LiveSummaryContent, LiveSummaryRef, outbox_event,
};
use crate::{Core, CoreError};

/// Live lines kept per meeting (the oldest go first).
const MAX_LINES: usize = 4_000;

/// One line heard live.
struct Heard {
    bot: Uuid,
    track: String,
    speaker: String,
    start_ms: u64,
    text: String,
}

#[derive(Default)]
struct Rolling {
    lines: Vec<Heard>,
    /// What was last published (tasks and decisions), to publish only changes.
    published: Option<(Vec<String>, Vec<String>)>,
}

/// Every meeting's rolling summary on this instance.
#[derive(Default)]
pub(crate) struct RollingSummaries {
    meetings: Mutex<HashMap<Uuid, Rolling>>,
}

/// Counts only: the lines are meeting content.
impl std::fmt::Debug for RollingSummaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollingSummaries")
            .field("meetings", &self.lock().len())
            .finish()
    }
}

impl RollingSummaries {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Rolling>> {
        self.meetings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a track's lines (its participant opted out).
    pub(crate) fn forget_track(&self, meeting: Uuid, bot: Uuid, track: &str) {
        if let Some(r) = self.lock().get_mut(&meeting) {
            r.lines.retain(|l| !(l.bot == bot && l.track == track));
            r.published = None;
        }
    }

    /// Forgets a meeting (its bot's processing ended).
    pub(crate) fn forget_meeting(&self, meeting: Uuid) {
        self.lock().remove(&meeting);
    }
}

/// What was just heard on one track.
pub(crate) struct Heard1<'a> {
    pub org: Uuid,
    pub meeting: Uuid,
    pub bot: Uuid,
    pub track: &'a str,
    pub speaker: &'a str,
    /// (start in ms, text) per segment.
    pub segments: Vec<(i64, String)>,
}

impl Core {
    /// Adds what a track just said to its meeting's rolling summary and appends a
    /// `summary.live` event when its action items or decisions changed.
    pub(crate) async fn roll_live_summary(
        &self,
        heard: Heard1<'_>,
        key: (&SymmetricKey, KeyRef),
    ) -> Result<(), CoreError> {
        let event = {
            let rolling = &self.inner.live_summaries;
            let mut map = rolling.lock();
            let r = map.entry(heard.meeting).or_default();
            for (start_ms, text) in heard.segments {
                r.lines.push(Heard {
                    bot: heard.bot,
                    track: heard.track.to_owned(),
                    speaker: heard.speaker.to_owned(),
                    start_ms: u64::try_from(start_ms).unwrap_or(0),
                    text,
                });
            }
            if r.lines.len() > MAX_LINES {
                let extra = r.lines.len() - MAX_LINES;
                r.lines.drain(..extra);
            }
            r.lines.sort_by_key(|l| l.start_ms);
            let lines: Vec<Line<'_>> = r
                .lines
                .iter()
                .map(|l| Line {
                    speaker: &l.speaker,
                    start_ms: l.start_ms,
                    text: &l.text,
                })
                .collect();
            let mut speakers: Vec<&str> = lines.iter().map(|l| l.speaker).collect();
            speakers.sort_unstable();
            speakers.dedup();
            let items = summarize::action_items(&lines, &speakers);
            let decisions = summarize::decisions(&lines);
            let now = (
                items.iter().map(|a| a.task.clone()).collect::<Vec<_>>(),
                decisions.iter().map(|d| d.text.clone()).collect::<Vec<_>>(),
            );
            if r.published.as_ref() == Some(&now) || (now.0.is_empty() && now.1.is_empty()) {
                None
            } else {
                r.published = Some(now);
                Some((
                    LiveSummaryRef {
                        bot_id: heard.bot.into(),
                        meeting_id: heard.meeting.into(),
                        segments: u32::try_from(lines.len()).unwrap_or(u32::MAX),
                    },
                    LiveSummaryContent {
                        action_items: items
                            .into_iter()
                            .map(|a| LiveActionItem {
                                task: a.task,
                                owner: a.owner,
                                due: a.due,
                                start_ms: a.start_ms,
                            })
                            .collect(),
                        decisions: decisions
                            .into_iter()
                            .map(|d| LiveDecision {
                                text: d.text,
                                speaker: d.speaker,
                                start_ms: d.start_ms,
                            })
                            .collect(),
                    },
                ))
            }
        };
        let Some((plain, content)) = event else {
            return Ok(());
        };
        let e = outbox_event(
            heard.org,
            &DomainEvent::LiveSummary(plain, content),
            Some(key),
        )?;
        self.append_events(heard.meeting, &[e]).await
    }
}
