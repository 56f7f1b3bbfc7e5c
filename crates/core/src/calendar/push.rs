//! Push notifications: a Google watch channel or a Graph subscription per connection, opened
//! and renewed by its sync, and the two public endpoints the providers call. A notification
//! only ever asks for a sync soon — it carries no event data we trust — and is accepted only
//! with the channel token (Google) or `clientState` (Graph) meetvault derived for that
//! channel, compared in constant time; anything else is refused without a lookup's hint.

use chrono::{TimeDelta, Utc};
use meetvault_calendar::google::push as gpush;
use meetvault_calendar::graph::push as mpush;
use meetvault_calendar::{Http, Provider, ProviderKind, PushSecret, Tokens};
use meetvault_store::calendar::CalendarConnectionRow;

use super::Calendars;
use crate::{Core, CoreError};

/// Channels are renewed when less than this is left.
const RENEW_BEFORE: TimeDelta = TimeDelta::hours(24);

/// What the Microsoft endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphPushReply {
    /// The subscription's validation handshake: echo this token as `text/plain`, 200.
    Validation(String),
    /// Notifications taken (202).
    Accepted,
}

impl Core {
    fn calendar_push_secret(&self) -> PushSecret {
        PushSecret::from_bytes(meetvault_crypto::keys::hmac_sha256(
            &self.keys().csrf,
            b"meetvault calendar push v1",
        ))
    }

    fn calendar_push_address(&self, kind: ProviderKind) -> Option<url::Url> {
        let c = &self.config().calendar;
        if !c.push {
            return None;
        }
        let base = c
            .push_url
            .as_ref()
            .or(self.config().server.public_url.as_ref())?;
        url::Url::parse(&format!(
            "{}/api/v1/calendar/push/{}",
            base.as_str().trim_end_matches('/'),
            super::kind_str(kind)
        ))
        .ok()
    }

    /// Opens or renews the connection's channel when it is missing or near its end. Failing is
    /// not fatal: polling reads the calendar anyway.
    pub(crate) async fn ensure_calendar_push(
        &self,
        http: &dyn Http,
        provider: &Provider,
        tokens: &Tokens,
        conn: &mut CalendarConnectionRow,
    ) {
        let Some(address) = self.calendar_push_address(provider.kind) else {
            return;
        };
        let now = Utc::now();
        let fresh = conn
            .channel_expires_at
            .is_some_and(|t| t > (now + RENEW_BEFORE).timestamp_millis());
        if conn.channel_id.is_some() && fresh {
            return;
        }
        let secret = self.calendar_push_secret();
        let result = match provider.kind {
            ProviderKind::Google => {
                // A Google channel cannot be extended: open a new one, then stop the old.
                match gpush::watch(
                    http,
                    provider,
                    &tokens.access_token,
                    &address,
                    &secret,
                    gpush::MAX_CHANNEL_TTL,
                    now,
                )
                .await
                {
                    Ok(channel) => {
                        self.stop_calendar_push(http, provider, tokens, conn).await;
                        conn.channel_id = Some(channel.id);
                        conn.channel_resource = Some(channel.resource_id);
                        conn.channel_expires_at = Some(channel.expires_at.timestamp_millis());
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            ProviderKind::Microsoft => {
                let ttl = TimeDelta::minutes(mpush::MAX_SUBSCRIPTION_MINUTES);
                let renewed = match &conn.channel_id {
                    Some(id) => mpush::renew(http, provider, &tokens.access_token, id, ttl, now)
                        .await
                        .ok(),
                    None => None,
                };
                let sub = match renewed {
                    Some(s) => Ok(s),
                    None => {
                        let state = secret.graph_client_state(&conn.id.simple().to_string());
                        mpush::subscribe(
                            http,
                            provider,
                            &tokens.access_token,
                            &address,
                            &state,
                            ttl,
                            now,
                        )
                        .await
                    }
                };
                sub.map(|s| {
                    conn.channel_id = Some(s.id);
                    conn.channel_resource = None;
                    conn.channel_expires_at = Some(s.expires_at.timestamp_millis());
                })
            }
        };
        if let Err(e) = result {
            tracing::warn!(provider = %conn.provider, error = %e, "opening a calendar push channel failed; polling only");
        }
    }

    /// Closes the connection's channel at the provider (best effort).
    pub(crate) async fn stop_calendar_push(
        &self,
        http: &dyn Http,
        provider: &Provider,
        tokens: &Tokens,
        conn: &CalendarConnectionRow,
    ) {
        let Some(id) = &conn.channel_id else { return };
        let result = match provider.kind {
            ProviderKind::Google => {
                let channel = gpush::GoogleChannel {
                    id: id.clone(),
                    resource_id: conn.channel_resource.clone().unwrap_or_default(),
                    expires_at: Utc::now(),
                };
                gpush::stop(http, provider, &tokens.access_token, &channel).await
            }
            ProviderKind::Microsoft => {
                mpush::unsubscribe(http, provider, &tokens.access_token, id).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(provider = %conn.provider, error = %e, "closing a calendar push channel failed");
        }
    }

    /// Asks for a connection's sync now (a push arrived).
    async fn calendar_pushed(&self, conn: &CalendarConnectionRow) -> Result<(), CoreError> {
        if conn.status != "active" {
            return Ok(());
        }
        self.db()
            .calendar_sync_soon(conn.org_id, conn.id, Utc::now().timestamp_millis())
            .await?;
        self.enqueue_calendar_sync(conn.org_id, conn.id).await
    }

    /// `POST /api/v1/calendar/push/google`: Google's headers; refused unless the channel token
    /// is ours and the channel and resource are a live connection's.
    async fn calendar_push_google(&self, headers: &http::HeaderMap) -> Result<(), CoreError> {
        let refused = || CoreError::NotAllowed("not a notification of a channel of ours".into());
        let notice = gpush::verify_notification(headers, &self.calendar_push_secret())
            .map_err(|_| refused())?;
        let conn = self
            .db()
            .calendar_connection_by_channel(&notice.channel_id)
            .await?
            .filter(|c| c.provider == "google")
            .ok_or_else(refused)?;
        if notice.resource_id.is_some() && notice.resource_id != conn.channel_resource {
            return Err(refused());
        }
        if notice.state.triggers_sync() {
            self.calendar_pushed(&conn).await?;
        }
        Ok(())
    }

    /// `POST /api/v1/calendar/push/microsoft`: the validation handshake (`validationToken` in
    /// the query), or a batch of notifications, each accepted only with the `clientState` we
    /// derived for its subscription's connection. A lifecycle notice (reauthorization, removed
    /// subscription, missed notifications) drops the subscription so the sync opens a new one
    /// and reads everything.
    async fn calendar_push_microsoft(
        &self,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<GraphPushReply, CoreError> {
        if let Some(v) = mpush::validation_response(query) {
            return v
                .map(GraphPushReply::Validation)
                .map_err(|_| CoreError::invalid("validationToken", "is too long"));
        }
        let notes = mpush::parse_notifications(body)
            .map_err(|_| CoreError::invalid("value", "is not a Graph notification batch"))?;
        let secret = self.calendar_push_secret();
        let mut any = false;
        for n in notes {
            let Some(conn) = self
                .db()
                .calendar_connection_by_channel(&n.subscription_id)
                .await?
                .filter(|c| c.provider == "microsoft")
            else {
                continue;
            };
            if !n.verify(&secret, &conn.id.simple().to_string()) {
                continue;
            }
            any = true;
            if n.lifecycle.is_some() {
                self.db()
                    .expire_calendar_channel(conn.org_id, conn.id)
                    .await?;
            }
            self.calendar_pushed(&conn).await?;
        }
        if any {
            Ok(GraphPushReply::Accepted)
        } else {
            Err(CoreError::NotAllowed(
                "not a notification of a subscription of ours".into(),
            ))
        }
    }
}

impl Calendars<'_> {
    /// Google's push notification (its headers): a sync soon, or refused.
    pub async fn push_google(self, headers: &http::HeaderMap) -> Result<(), CoreError> {
        self.core.calendar_push_google(headers).await
    }

    /// Graph's validation handshake or notification batch.
    pub async fn push_microsoft(
        self,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<GraphPushReply, CoreError> {
        self.core.calendar_push_microsoft(query, body).await
    }
}
