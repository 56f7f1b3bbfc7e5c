//! Microsoft Graph v1.0: event parsing, `calendarView/delta` rounds, and change-notification
//! subscriptions.

pub mod events;
pub mod push;
pub(crate) mod sync;
