-- The event outbox: every domain event, written in the same transaction as the change it
-- describes, numbered per org in commit order (the `outbox_seq` row is taken for update by the
-- writing transaction, so a later number never commits before an earlier one). Event streams,
-- and later webhooks and certificates, read it by `seq`. Content (a segment's words) is
-- encrypted under the meeting's key in `sealed`; `data` holds ids and states only. A retention
-- setting prunes old rows. Times are Unix milliseconds.
CREATE TABLE outbox_events (
    org_id      UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    id          UUID NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    -- The meeting (or other resource) the event is about.
    resource_id UUID,
    data        TEXT NOT NULL,
    sealed      BYTEA,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX outbox_events_resource ON outbox_events (org_id, resource_id, seq);
CREATE INDEX outbox_events_created ON outbox_events (created_at);

-- The last sequence number handed out per org.
CREATE TABLE outbox_seq (
    org_id UUID PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    last   BIGINT NOT NULL
);

-- Blob deletions that failed where failing was tolerated (the row that named the blob is gone):
-- a sweeper retries them, so no blob is silently left behind.
CREATE TABLE blob_deletions (
    blob_key   TEXT PRIMARY KEY,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX blob_deletions_due ON blob_deletions (next_at);
