-- Calendars. A person's connection to their Google or Microsoft 365 calendar: the OAuth tokens
-- and the sync cursor sealed under the person's key, the workspace its bots go to, and the
-- push channel (Google) or subscription (Graph) the provider notifies us through.
CREATE TABLE calendar_connections (
    id                 BLOB PRIMARY KEY,
    org_id             BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id       BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    provider           TEXT NOT NULL,
    tokens             BLOB NOT NULL,
    cursor             BLOB,
    status             TEXT NOT NULL,
    error              TEXT,
    last_sync_at       BIGINT,
    next_sync_at       BIGINT NOT NULL,
    channel_id         TEXT,
    channel_resource   TEXT,
    channel_expires_at BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (org_id, user_id, provider)
);
CREATE INDEX calendar_connections_due ON calendar_connections (status, next_sync_at);
CREATE UNIQUE INDEX calendar_connections_channel ON calendar_connections (channel_id);
-- The events of a connection's window (sealed under the person's key), what the rules decided,
-- the person's own choice for the event, and the meeting it shares with colleagues: bot_key is
-- an HMAC of the meeting's identity and start, never the link itself.
CREATE TABLE calendar_events (
    connection_id BLOB NOT NULL REFERENCES calendar_connections (id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    org_id        BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id  BLOB NOT NULL,
    data          BLOB NOT NULL,
    start_at      BIGINT NOT NULL,
    end_at        BIGINT NOT NULL,
    bot_key       TEXT,
    record        INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, event_id)
);
CREATE INDEX calendar_events_key ON calendar_events (org_id, workspace_id, bot_key);
-- A per-event choice outlives the event's row (a full sync rewrites the rows).
CREATE TABLE calendar_choices (
    connection_id BLOB NOT NULL REFERENCES calendar_connections (id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    choice        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, event_id)
);
-- The one bot per meeting (bot_key) and workspace that calendars scheduled.
CREATE TABLE calendar_bots (
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id BLOB NOT NULL,
    bot_key      TEXT NOT NULL,
    bot_id       BLOB NOT NULL,
    start_at     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, workspace_id, bot_key)
);
-- Auto-join rules: a person's, and a workspace's (its defaults and exclusions).
CREATE TABLE calendar_user_rules (
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rules      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE TABLE calendar_workspace_rules (
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    rules        TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, workspace_id)
);
