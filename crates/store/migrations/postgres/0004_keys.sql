-- Encryption at rest: the key hierarchy (org keys wrapped by the master key, user keys wrapped by
-- their org key or, in zero-access mode, by a password-derived key and a recovery key; one key
-- per meeting wrapped by its owner's user key or HPKE-sealed to the owner's public key) and the
-- first content tables. Every content column is ciphertext (envelope 0x02, bound to org, table,
-- row and field); nothing here holds plaintext content.
ALTER TABLE orgs ADD COLUMN kms_key_id TEXT;

CREATE TABLE org_keys (
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    kek_provider TEXT NOT NULL,
    kek_key_id   TEXT NOT NULL,
    kek_version  INTEGER NOT NULL,
    wrapped      BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE user_keys (
    user_id            UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id             UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    mode               TEXT NOT NULL CHECK (mode IN ('org', 'zero_access')),
    org_key_version    INTEGER,
    org_wrapped        BYTEA,
    password_wrapped   BYTEA,
    kdf_memory_kib     INTEGER,
    kdf_iterations     INTEGER,
    kdf_parallelism    INTEGER,
    kdf_salt           BYTEA,
    recovery_wrapped   BYTEA,
    public_key         BYTEA NOT NULL,
    secret_key_wrapped BYTEA NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CHECK ((mode = 'org' AND org_wrapped IS NOT NULL AND password_wrapped IS NULL)
        OR (mode = 'zero_access' AND org_wrapped IS NULL AND password_wrapped IS NOT NULL
            AND recovery_wrapped IS NOT NULL))
);
CREATE INDEX user_keys_org ON user_keys (org_id, org_key_version);

-- No foreign key to meetings: shredding deletes these rows first, and nothing may keep a key
-- alive on behalf of content.
CREATE TABLE meeting_keys (
    meeting_id UUID NOT NULL,
    version    INTEGER NOT NULL,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    owner_id   UUID NOT NULL,
    wrap       TEXT NOT NULL CHECK (wrap IN ('user', 'sealed')),
    wrapped    BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (meeting_id, version)
);
CREATE INDEX meeting_keys_owner ON meeting_keys (owner_id);

CREATE TABLE meetings (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    owner_id     UUID NOT NULL REFERENCES users (id),
    title        BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX meetings_org ON meetings (org_id, created_at);

CREATE TABLE meeting_participants (
    id         UUID PRIMARY KEY,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id UUID NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       BYTEA NOT NULL,
    email      BYTEA
);
CREATE INDEX meeting_participants_meeting ON meeting_participants (meeting_id, position);

CREATE TABLE transcript_segments (
    id         UUID PRIMARY KEY,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id UUID NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL,
    speaker    BYTEA NOT NULL,
    text       BYTEA NOT NULL
);
CREATE INDEX transcript_segments_meeting ON transcript_segments (meeting_id, position);

CREATE TABLE recordings (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id   UUID NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    blob_key     TEXT NOT NULL,
    size         BIGINT NOT NULL,
    stored_size  BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX recordings_meeting ON recordings (meeting_id);

-- Integration tokens, webhook secrets and other credentials a user hands meetvault.
CREATE TABLE user_secrets (
    id         UUID PRIMARY KEY,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, name)
);
