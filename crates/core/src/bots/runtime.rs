//! The bot process's side of the internal protocol (`/internal/v1/bots/{id}/…`): a bot proves
//! itself with its own `mvb_` token (stored as SHA-256, compared in constant time, valid for
//! that bot only and only until it ends), then fetches its spec, reports transitions (checked
//! against the table: an illegal one is a conflict), heartbeats, participant events, audio
//! chunks (sealed as they arrive) and long-polls for commands.

use std::time::Duration;

use bytes::Bytes;
use meetvault_auth::token::{self, Token};
use meetvault_store::bots::BotRow;

use super::{
    BotOptions, BotState, DEFAULT_OPT_OUT, SubCode, Transition, default_consent, state_of,
};
use crate::access::Actor;
use crate::ids::BotId;
use crate::{Core, CoreError};

/// A bot that proved itself with its token: only [`BotRuntime::authenticate`] makes one.
#[derive(Debug, Clone)]
pub struct BotSession {
    pub(super) bot: BotRow,
}

impl BotSession {
    pub fn bot_id(&self) -> BotId {
        self.bot.id.into()
    }
}

/// What a bot process is told to do.
#[derive(Debug, Clone)]
pub struct BotSpec {
    pub bot_id: BotId,
    pub meeting_url: String,
    pub bot_name: String,
    /// `None`: the bot posts no consent message.
    pub consent_message: Option<String>,
    pub opt_out_phrase: String,
    pub options: BotOptions,
    pub state: BotState,
    /// The platform's recipe as JSON (looked up now, so a fixed recipe applies at once).
    pub recipe: Option<serde_json::Value>,
}

/// A command for the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotCommand {
    Leave { sub_code: String },
    SendChat { text: String },
}

/// Track keys and participant ids: short, printable, no path characters.
/// The latest a chunk may start on the bot's audio clock (ms): a day.
const MAX_START_MS: i64 = 24 * 3600 * 1000;

pub(crate) fn check_key(field: &'static str, value: &str) -> Result<(), CoreError> {
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            "1–128 characters of letters, digits, `_`, `-`, `.`, `:` and `@`",
        ))
    }
}

/// The bot process's side (`core.bot_runtime()`).
#[derive(Debug, Clone, Copy)]
pub struct BotRuntime<'a> {
    pub(crate) core: &'a Core,
}

impl BotRuntime<'_> {
    /// Where bots reach this server when `bot.server_url` is not set: the address this
    /// instance listens on (the HTTP server tells it once bound).
    pub fn set_local_server(self, addr: std::net::SocketAddr) {
        self.core.inner.bots.set_local_server(addr);
    }

    /// The bot `bot` if `bearer` is its token and it has not ended (nor reported its end:
    /// `post_processing` is the server's).
    pub async fn authenticate(self, bot: BotId, bearer: &str) -> Result<BotSession, CoreError> {
        let token =
            Token::parse(token::BOT_TOKEN, bearer).map_err(|_| CoreError::Unauthenticated)?;
        let row = self
            .core
            .db()
            .bot_by_id(bot.uuid())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let stored = row.token_hash.as_deref().unwrap_or_default();
        let given = token::sha256_hex(token.expose());
        if stored.is_empty()
            || !meetvault_crypto::keys::ct_eq(stored.as_bytes(), given.as_bytes())
            || state_of(&row)?.is_done()
        {
            return Err(CoreError::Unauthenticated);
        }
        Ok(BotSession { bot: row })
    }

    pub async fn spec(self, s: &BotSession) -> Result<BotSpec, CoreError> {
        let b = &s.bot;
        let keys = self
            .core
            .meeting_read_keys(b.org_id, b.meeting_id, b.owner_id)
            .await?;
        let options: BotOptions = serde_json::from_str(&b.options).unwrap_or_default();
        let opt_out_phrase = options
            .opt_out_phrase
            .clone()
            .unwrap_or_else(|| DEFAULT_OPT_OUT.to_owned());
        Ok(BotSpec {
            bot_id: b.id.into(),
            meeting_url: keys.text(b.org_id, "bots", b.id, "meeting_url", &b.meeting_url)?,
            bot_name: keys.text(b.org_id, "bots", b.id, "bot_name", &b.bot_name)?,
            consent_message: options.post_consent.then(|| {
                options
                    .consent_message
                    .clone()
                    .unwrap_or_else(|| default_consent(&opt_out_phrase))
            }),
            opt_out_phrase,
            state: state_of(b)?,
            recipe: self
                .core
                .inner
                .bots
                .recipes()
                .get(&options.platform)
                .map(meetvault_recipe::Recipe::to_json),
            options,
        })
    }

    /// Records a transition the bot reports: an unknown state or sub-code is invalid, a move
    /// the table does not allow from the bot's current state is a conflict. `ended` from inside
    /// the meeting or from `leaving` is written as `post_processing` (same sub-code); `ended`
    /// follows once what it captured is processed.
    pub async fn transition(
        self,
        s: &BotSession,
        state: &str,
        sub_code: Option<&str>,
    ) -> Result<BotState, CoreError> {
        let to = BotState::parse(state)
            .ok_or_else(|| CoreError::invalid("state", "is not a bot state"))?;
        let sub_code = sub_code
            .map(|c| {
                SubCode::parse(c).ok_or_else(|| {
                    CoreError::invalid("sub_code", "is not a sub-code ([a-z0-9_], at most 64)")
                })
            })
            .transpose()?;
        let row = self
            .core
            .db()
            .bot_by_id(s.bot.id)
            .await?
            .ok_or(CoreError::NotFound("bot"))?;
        let from = state_of(&row)?;
        if to == BotState::PostProcessing {
            return Err(CoreError::Conflict(
                "post_processing is the server's state; report ended".into(),
            ));
        }
        // A bot that ends inside the meeting (or while leaving) has captured something: the
        // server processes it first (`post_processing`), then writes `ended` itself.
        let to = if to == BotState::Ended && (from.is_in_meeting() || from == BotState::Leaving) {
            BotState::PostProcessing
        } else {
            to
        };
        let t =
            Transition::new(from, to, sub_code).map_err(|e| CoreError::Conflict(e.to_string()))?;
        if !self
            .core
            .record_bot_transition(&row, &t, Actor::System, true)
            .await?
        {
            return Err(CoreError::Conflict(
                "the bot's state changed meanwhile; read it again".into(),
            ));
        }
        self.heartbeat(s).await?;
        Ok(to)
    }

    pub async fn heartbeat(self, s: &BotSession) -> Result<(), CoreError> {
        self.core
            .db()
            .bot_heartbeat(s.bot.id, meetvault_jobs::now_ms())
            .await?;
        Ok(())
    }

    /// Stores one chunk of a track's PCM (16 kHz mono s16le) as a sealed blob, at once; false
    /// if it was stored before, or if the track's participant opted out (dropped).
    pub async fn audio(
        self,
        s: &BotSession,
        track: &str,
        seq: i64,
        start_ms: i64,
        pcm: Bytes,
    ) -> Result<bool, CoreError> {
        check_key("track", track)?;
        if seq < 0 || start_ms < 0 {
            return Err(CoreError::invalid(
                "seq",
                "seq and start_ms must not be negative",
            ));
        }
        if start_ms > MAX_START_MS {
            // The mixed recording places a chunk at its start: a wild clock must not make it
            // days long.
            return Err(CoreError::invalid(
                "start_ms",
                "must be within 24 hours of the bot's audio clock",
            ));
        }
        if pcm.is_empty() || !pcm.len().is_multiple_of(2) {
            return Err(CoreError::invalid(
                "body",
                "must be 16-bit little-endian PCM (an even, non-zero number of bytes)",
            ));
        }
        let state = state_of(&s.bot)?;
        if state.is_terminal() || state == BotState::PostProcessing {
            return Err(CoreError::Conflict("the bot has ended".into()));
        }
        let b = &s.bot;
        if self
            .core
            .db()
            .bot_track_opted_out(b.org_id, b.id, track)
            .await?
        {
            // Its participant opted out: dropped, unstored (the bot stops sending it anyway).
            return Ok(false);
        }
        let stored = self
            .core
            .store_audio_chunk(b, track, seq, start_ms, pcm)
            .await?;
        // An opt-out that landed while the chunk was being stored: this chunk goes too.
        if stored
            && self
                .core
                .db()
                .bot_track_opted_out(b.org_id, b.id, track)
                .await?
        {
            self.core.forget_bot_track(b, track).await?;
            return Ok(false);
        }
        Ok(stored)
    }

    /// The bot's pending commands; waits up to `bot.command_wait_secs` for one.
    pub async fn commands(self, s: &BotSession) -> Result<Vec<BotCommand>, CoreError> {
        let config = self.core.config();
        // Answered before the request timeout cuts the long-poll off.
        let wait = Duration::from_secs(
            config
                .bot
                .command_wait_secs
                .min(config.server.request_timeout_secs.saturating_sub(1)),
        );
        let deadline = tokio::time::Instant::now() + wait;
        let mut woken = self.core.inner.bots.subscribe(s.bot.id);
        loop {
            let rows = self
                .core
                .db()
                .take_bot_commands(s.bot.id, meetvault_jobs::now_ms())
                .await?;
            if !rows.is_empty() {
                let b = &s.bot;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    match r.kind.as_str() {
                        "leave" => out.push(BotCommand::Leave {
                            sub_code: r
                                .body
                                .map(|b| String::from_utf8_lossy(&b).into_owned())
                                .unwrap_or_else(|| SubCode::LEFT_BY_API.to_owned()),
                        }),
                        "send_chat" => {
                            let keys = self
                                .core
                                .meeting_read_keys(b.org_id, b.meeting_id, b.owner_id)
                                .await?;
                            let text = match &r.body {
                                Some(ct) => {
                                    keys.text(b.org_id, "bot_commands", r.id, "body", ct)?
                                }
                                None => String::new(),
                            };
                            out.push(BotCommand::SendChat { text });
                        }
                        other => tracing::warn!(kind = other, "unknown bot command skipped"),
                    }
                }
                return Ok(out);
            }
            if tokio::time::timeout_at(deadline, woken.recv())
                .await
                .is_err()
            {
                return Ok(Vec::new());
            }
        }
    }
}
