-- The customer's own buckets: S3-compatible destinations a meeting's recordings and
-- transcript are delivered to. The credentials are an envelope under the org's key, bound to
-- (org, table, row, field), and never returned. Times are Unix milliseconds.
CREATE TABLE destinations (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- The S3 API's base URL (none: AWS for the region).
    endpoint     TEXT,
    region       TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    path_style   INTEGER NOT NULL,
    -- JSON {access_key_id, secret_access_key, session_token}, sealed.
    credentials  BLOB NOT NULL,
    -- The last four characters of the access key id, to tell keys apart.
    key_hint     TEXT NOT NULL,
    -- An age X25519 recipient (age1…): objects are encrypted to it before they leave, so the
    -- bucket's operator never holds plaintext either.
    age_recipient TEXT,
    -- A default: bots deliver there when they end — the org's, or (with workspace_id) that
    -- workspace's, which comes first; a bot may name its own.
    is_default   INTEGER NOT NULL,
    workspace_id BLOB REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by   BLOB,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX destinations_org ON destinations (org_id, created_at);
