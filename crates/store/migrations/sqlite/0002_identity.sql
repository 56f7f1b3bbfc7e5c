-- Identity and access: organizations (the tenants), their workspaces, users, sessions, API keys,
-- support-access keys, invitations and MFA recovery codes. Every tenant-owned row carries a
-- non-null org_id; secrets are stored only as hashes or MACs.
CREATE TABLE orgs (
    id          BLOB        PRIMARY KEY,
    name        TEXT        NOT NULL,
    require_mfa INTEGER     NOT NULL DEFAULT 0,
    created_at  TEXT        NOT NULL
);

CREATE TABLE users (
    id             BLOB        PRIMARY KEY,
    org_id         BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email          TEXT        NOT NULL UNIQUE,
    name           TEXT        NOT NULL,
    password_hash  TEXT        NOT NULL,
    role           TEXT        NOT NULL,
    totp_secret    BLOB ,
    totp_enabled   INTEGER     NOT NULL DEFAULT 0,
    totp_last_step INTEGER,
    created_at     TEXT        NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE workspaces (
    id         BLOB        PRIMARY KEY,
    org_id     BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    created_at TEXT        NOT NULL
);
CREATE INDEX workspaces_org ON workspaces (org_id);

CREATE TABLE workspace_members (
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE sessions (
    id           BLOB        PRIMARY KEY,
    org_id       BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT        NOT NULL UNIQUE,
    created_at   TEXT        NOT NULL,
    last_seen_at TEXT        NOT NULL,
    expires_at   TEXT        NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id             BLOB        PRIMARY KEY,
    org_id         BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by     BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id   BLOB        REFERENCES workspaces (id) ON DELETE CASCADE,
    name           TEXT        NOT NULL,
    lookup         TEXT        NOT NULL UNIQUE,
    mac            BLOB        NOT NULL,
    pepper_version INTEGER     NOT NULL,
    permissions    TEXT        NOT NULL,
    created_at     TEXT        NOT NULL,
    last_used_at   TEXT       ,
    expires_at     TEXT       ,
    revoked_at     TEXT       
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE support_keys (
    id             BLOB        PRIMARY KEY,
    org_id         BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id        BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note           TEXT        NOT NULL,
    lookup         TEXT        NOT NULL UNIQUE,
    mac            BLOB        NOT NULL,
    pepper_version INTEGER     NOT NULL,
    created_at     TEXT        NOT NULL,
    expires_at     TEXT        NOT NULL,
    last_used_at   TEXT       ,
    revoked_at     TEXT       
);
CREATE INDEX support_keys_user ON support_keys (user_id);

CREATE TABLE invitations (
    id             BLOB        PRIMARY KEY,
    org_id         BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    invited_by     BLOB        REFERENCES users (id) ON DELETE SET NULL,
    email          TEXT        NOT NULL,
    role           TEXT        NOT NULL,
    workspace_id   BLOB        REFERENCES workspaces (id) ON DELETE CASCADE,
    lookup         TEXT        NOT NULL UNIQUE,
    mac            BLOB        NOT NULL,
    pepper_version INTEGER     NOT NULL,
    created_at     TEXT        NOT NULL,
    expires_at     TEXT        NOT NULL,
    accepted_at    TEXT       ,
    revoked_at     TEXT       
);
CREATE INDEX invitations_org ON invitations (org_id);

CREATE TABLE recovery_codes (
    org_id    BLOB        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id   BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT        NOT NULL,
    used_at   TEXT       ,
    PRIMARY KEY (user_id, code_hash)
);
