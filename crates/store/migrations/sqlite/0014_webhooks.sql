-- Webhooks: endpoints the org registered, the deliveries the outbox's events became, and every
-- attempt at one (the delivery log). Times are Unix milliseconds.
--
-- An endpoint's signing secret is an envelope under the org's key, bound to (org, table, row,
-- field); a rotated-out secret keeps signing beside the new one until `previous_until`. The URL
-- is checked against private and internal targets when it is set and again at every attempt.
CREATE TABLE webhook_endpoints (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- Only events of this workspace's meetings (NULL: the whole org).
    workspace_id     BLOB,
    -- Only events of this bot's meeting (a bot's own `webhook_url`).
    bot_id           BLOB,
    meeting_id       BLOB,
    url              TEXT NOT NULL,
    description      TEXT NOT NULL,
    -- JSON array of event types; empty: every type that is not opt-in.
    event_types      TEXT NOT NULL,
    enabled          INTEGER NOT NULL,
    -- Transcript text may be sent (only ever to an https URL).
    include_content  INTEGER NOT NULL,
    -- 'hmac' (whsec_, v1) or 'ed25519' (whsk_/whpk_, v1a).
    signing          TEXT NOT NULL CHECK (signing IN ('hmac', 'ed25519')),
    secret           BLOB NOT NULL,
    previous_secret  BLOB,
    previous_until   BIGINT,
    -- Why it was disabled by the server (410 Gone, days of failure), for its owner.
    disabled_reason  TEXT,
    -- The first failure since the last success (NULL while healthy).
    failing_since    BIGINT,
    -- The endpoint's queue waits until then (a retry's time).
    next_at          BIGINT NOT NULL,
    -- The dispatcher delivering to it now, and until when its lease runs.
    lease_owner      TEXT,
    lease_until      BIGINT,
    created_by       BLOB,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, created_at);
CREATE INDEX webhook_endpoints_due ON webhook_endpoints (enabled, next_at);

-- How far each org's outbox has been turned into deliveries.
CREATE TABLE webhook_cursor (
    org_id   BLOB PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL
);

-- One event for one endpoint. `msg_id` (the `webhook-id` header) is derived from the event and
-- the endpoint, so a receiver can drop duplicates and the fan-out can run twice harmlessly.
-- The body carries ids, states and links; transcript text only for an endpoint that opted in,
-- and then the body is an envelope under the meeting's key (shredded with the meeting).
CREATE TABLE webhook_deliveries (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    endpoint_id BLOB NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    msg_id      TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    -- The outbox event's number (deliveries to one endpoint go in this order).
    event_seq   BIGINT NOT NULL,
    meeting_id  BLOB,
    body        BLOB NOT NULL,
    sealed      INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts    INTEGER NOT NULL,
    next_at     BIGINT NOT NULL,
    last_status INTEGER,
    -- Its owner asked for it again (the next attempt is a redelivery).
    redeliver   INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (endpoint_id, msg_id)
);
-- The head of an endpoint's queue (redeliveries first, then event order) without a sort.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, state, redeliver DESC, event_seq, created_at, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at);

-- Every attempt: when, the answer (or the failure), how long it took, a capped excerpt of the
-- response (our secrets removed) and when the next try is.
CREATE TABLE webhook_attempts (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL,
    delivery_id   BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    status        INTEGER,
    latency_ms    BIGINT NOT NULL,
    excerpt       TEXT,
    error         TEXT,
    next_retry_at BIGINT,
    trigger       TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);
