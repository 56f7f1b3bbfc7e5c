//! Google Calendar API v3: event parsing, `events.list` paging with sync tokens, and push
//! channels (`events.watch`, `channels.stop`).

pub mod events;
pub mod push;
pub(crate) mod sync;
