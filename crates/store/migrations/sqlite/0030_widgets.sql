-- Voice-intake widgets: what a customer embeds on their site, the visitors' sessions on it
-- and the meetings their submissions became. Times are Unix milliseconds.
--
-- A widget's signing secret (for visitor identity tokens) is an envelope under the org's key,
-- bound to (org, table, row, field); it is shown once, at creation or rotation.
CREATE TABLE widgets (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id     BLOB NOT NULL,
    -- Whose meetings the submissions become (the widget's creator): keys are per user.
    owner_id         BLOB NOT NULL,
    name             TEXT NOT NULL,
    -- JSON: the exact origins (`https://example.com`) allowed to embed it.
    allowed_origins  TEXT NOT NULL,
    -- JSON: greeting, prompt, consent text, privacy notice link, maximum length, on_submit.
    settings         TEXT NOT NULL,
    -- JSON: the meetings' own retention windows (none: the workspace's policy).
    retention        TEXT,
    secret           BLOB NOT NULL,
    enabled          INTEGER NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX widgets_org ON widgets (org_id, created_at);

-- A visitor's session: the bearer token's SHA-256 (the token is shown once, to the browser),
-- the verified identity claims (an envelope under the org's key; none when no token was
-- given), how much audio arrived. No IP address is stored. Chunks are blobs sealed under the
-- org's key, deleted at submission or, unsubmitted, at expiry.
CREATE TABLE widget_sessions (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    widget_id    BLOB NOT NULL REFERENCES widgets (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    visitor      BLOB,
    chunks       INTEGER NOT NULL,
    bytes        BIGINT NOT NULL,
    -- 'open', 'submitting', 'submitted'.
    state        TEXT NOT NULL,
    meeting_id   BLOB,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX widget_sessions_expiry ON widget_sessions (expires_at);

-- What a submission became: its meeting, and the visitor's verified claims as an envelope
-- under the meeting's key (shredded with it; the row goes with the meeting).
CREATE TABLE widget_submissions (
    meeting_id   BLOB PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    widget_id    BLOB,
    visitor      BLOB,
    -- The widget asked for a summary after the transcript.
    summarize    INTEGER NOT NULL,
    created_at   BIGINT NOT NULL
);

-- The widget a meeting came from (none for any other): its submission's row is read only then.
ALTER TABLE meetings ADD COLUMN widget_id BLOB;
