-- Integrations: connections to Slack, Notion, Google Drive, Linear, Jira, HubSpot and
-- Salesforce, what each finished meeting proposes to send them (sealed under the meeting's
-- key, waiting for approval or queued), and every attempt at sending (the delivery log).
-- Times are Unix milliseconds.
--
-- A connection's credential (token, webhook URL, OAuth tokens) is an envelope under the org's
-- key, bound to (org, table, row, field); responses show only `credential_hint` (… + 4).
CREATE TABLE integrations (
    id                 BLOB PRIMARY KEY,
    org_id             BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- The meetings it hears of: a workspace's, one person's (their own meetings), or the org's.
    workspace_id       BLOB,
    user_id            BLOB,
    kind               TEXT NOT NULL,
    name               TEXT NOT NULL,
    -- JSON: the provider's base URL and the destination in it (meetvault_integrations::Target).
    target             TEXT NOT NULL,
    credential         BLOB NOT NULL,
    credential_kind    TEXT NOT NULL,
    credential_hint    TEXT NOT NULL,
    credential_set_at  BIGINT NOT NULL,
    -- When an OAuth access token expires (it is refreshed before).
    credential_expires_at BIGINT,
    account            TEXT NOT NULL,
    on_summary         INTEGER NOT NULL,
    on_action_items    INTEGER NOT NULL,
    approval           INTEGER NOT NULL,
    redact_pii         INTEGER NOT NULL,
    enabled            INTEGER NOT NULL,
    -- 'active', or 'broken' (the provider refused the credential: reconnect).
    status             TEXT NOT NULL,
    status_reason      TEXT,
    created_by         BLOB,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX integrations_org ON integrations (org_id, created_at);

-- How far each org's outbox has been read for integrations.
CREATE TABLE integration_cursor (
    org_id   BLOB PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL
);

-- One thing to send: a summary, or one action item. `dedupe` makes a proposal once per
-- connection (a regenerated summary proposes only what is new). The payload is exactly what
-- is sent, an envelope under the meeting's key (shredded with the meeting). `external_id` is
-- the provider's id once sent; a retry looks for the item's key at the provider first.
CREATE TABLE integration_items (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    integration_id  BLOB NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    meeting_id      BLOB NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('summary', 'task')),
    dedupe          TEXT NOT NULL,
    -- 'awaiting_approval', 'queued', 'sent', 'rejected', 'failed'.
    state           TEXT NOT NULL,
    payload         BLOB NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    external_id     TEXT,
    external_url    TEXT,
    decided_by      BLOB,
    decided_at      BIGINT,
    edited          INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (integration_id, dedupe)
);
CREATE INDEX integration_items_state ON integration_items (org_id, state, created_at);
CREATE INDEX integration_items_meeting ON integration_items (org_id, meeting_id);

-- Every attempt: when, what came of it, how long it took; provider text bounded, no content.
CREATE TABLE integration_attempts (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    integration_id  BLOB NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    item_id         BLOB NOT NULL REFERENCES integration_items (id) ON DELETE CASCADE,
    at              BIGINT NOT NULL,
    -- 'sent', 'rate_limited', 'unavailable', 'refused', 'unauthorized', 'limited_here'.
    outcome         TEXT NOT NULL,
    error           TEXT,
    latency_ms      BIGINT NOT NULL
);
CREATE INDEX integration_attempts_item ON integration_attempts (item_id, at);
CREATE INDEX integration_attempts_integration ON integration_attempts (integration_id, at);

-- A connection waiting for its provider's consent: its settings, the PKCE verifier (sealed
-- under the org's key) and who started it, found by a hash of the `state` until the callback
-- takes it (once) or it expires (ten minutes; the next start clears expired ones).
CREATE TABLE integration_oauth_states (
    id          BLOB PRIMARY KEY,
    state_hash  TEXT NOT NULL UNIQUE,
    org_id      BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL,
    kind        TEXT NOT NULL,
    settings    TEXT NOT NULL,
    verifier    BLOB NOT NULL,
    expires_at  BIGINT NOT NULL
);
