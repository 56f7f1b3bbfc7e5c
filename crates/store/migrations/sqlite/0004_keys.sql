-- Encryption at rest: the key hierarchy (org keys wrapped by the master key, user keys wrapped by
-- their org key or, in zero-access mode, by a password-derived key and a recovery key; one key
-- per meeting wrapped by its owner's user key or HPKE-sealed to the owner's public key) and the
-- first content tables. Every content column is ciphertext (envelope 0x02, bound to org, table,
-- row and field); nothing here holds plaintext content.
ALTER TABLE orgs ADD COLUMN kms_key_id TEXT;

CREATE TABLE org_keys (
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    kek_provider TEXT NOT NULL,
    kek_key_id   TEXT NOT NULL,
    kek_version  INTEGER NOT NULL,
    wrapped      BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE user_keys (
    user_id            BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id             BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    mode               TEXT NOT NULL CHECK (mode IN ('org', 'zero_access')),
    org_key_version    INTEGER,
    org_wrapped        BLOB,
    password_wrapped   BLOB,
    kdf_memory_kib     INTEGER,
    kdf_iterations     INTEGER,
    kdf_parallelism    INTEGER,
    kdf_salt           BLOB,
    recovery_wrapped   BLOB,
    public_key         BLOB NOT NULL,
    secret_key_wrapped BLOB NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((mode = 'org' AND org_wrapped IS NOT NULL AND password_wrapped IS NULL)
        OR (mode = 'zero_access' AND org_wrapped IS NULL AND password_wrapped IS NOT NULL
            AND recovery_wrapped IS NOT NULL))
);
CREATE INDEX user_keys_org ON user_keys (org_id, org_key_version);

-- No foreign key to meetings: shredding deletes these rows first, and nothing may keep a key
-- alive on behalf of content.
CREATE TABLE meeting_keys (
    meeting_id BLOB NOT NULL,
    version    INTEGER NOT NULL,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    owner_id   BLOB NOT NULL,
    wrap       TEXT NOT NULL CHECK (wrap IN ('user', 'sealed')),
    wrapped    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, version)
);
CREATE INDEX meeting_keys_owner ON meeting_keys (owner_id);

CREATE TABLE meetings (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    owner_id     BLOB NOT NULL REFERENCES users (id),
    title        BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX meetings_org ON meetings (org_id, created_at);

CREATE TABLE meeting_participants (
    id         BLOB PRIMARY KEY,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id BLOB NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       BLOB NOT NULL,
    email      BLOB
);
CREATE INDEX meeting_participants_meeting ON meeting_participants (meeting_id, position);

CREATE TABLE transcript_segments (
    id         BLOB PRIMARY KEY,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id BLOB NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL,
    speaker    BLOB NOT NULL,
    text       BLOB NOT NULL
);
CREATE INDEX transcript_segments_meeting ON transcript_segments (meeting_id, position);

CREATE TABLE recordings (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id   BLOB NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    blob_key     TEXT NOT NULL,
    size         BIGINT NOT NULL,
    stored_size  BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX recordings_meeting ON recordings (meeting_id);

-- Integration tokens, webhook secrets and other credentials a user hands meetvault.
CREATE TABLE user_secrets (
    id         BLOB PRIMARY KEY,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, name)
);
