//! Rows of the key hierarchy (org keys, user keys, meeting keys) and of encrypted content
//! (meetings, participants, transcript segments, recordings, user secrets). Every content value
//! arrives here as ciphertext; the store never sees a plaintext key or field.

mod content;
mod keys;

pub(crate) use content::{MEETING_COLUMNS, insert_meeting_row, within_clause};
pub use content::{
    MeetingQuery, MeetingRow, ParticipantRow, RecordingRow, SegmentRow, UserSecretRow,
};
pub use keys::{MeetingKeyRow, OrgKeyRow, UserKeyRow};
