-- Identity and access: organizations (the tenants), their workspaces, users, sessions, API keys,
-- support-access keys, invitations and MFA recovery codes. Every tenant-owned row carries a
-- non-null org_id; secrets are stored only as hashes or MACs.
CREATE TABLE orgs (
    id          UUID        PRIMARY KEY,
    name        TEXT        NOT NULL,
    require_mfa BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             UUID        PRIMARY KEY,
    org_id         UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email          TEXT        NOT NULL UNIQUE,
    name           TEXT        NOT NULL,
    password_hash  TEXT        NOT NULL,
    role           TEXT        NOT NULL,
    totp_secret    BYTEA,
    totp_enabled   BOOLEAN     NOT NULL DEFAULT FALSE,
    totp_last_step BIGINT,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE workspaces (
    id         UUID        PRIMARY KEY,
    org_id     UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX workspaces_org ON workspaces (org_id);

CREATE TABLE workspace_members (
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE sessions (
    id           UUID        PRIMARY KEY,
    org_id       UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   TEXT        NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id             UUID        PRIMARY KEY,
    org_id         UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by     UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id   UUID        REFERENCES workspaces (id) ON DELETE CASCADE,
    name           TEXT        NOT NULL,
    lookup         TEXT        NOT NULL UNIQUE,
    mac            BYTEA       NOT NULL,
    pepper_version INTEGER     NOT NULL,
    permissions    TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ,
    expires_at     TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE support_keys (
    id             UUID        PRIMARY KEY,
    org_id         UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id        UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note           TEXT        NOT NULL,
    lookup         TEXT        NOT NULL UNIQUE,
    mac            BYTEA       NOT NULL,
    pepper_version INTEGER     NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX support_keys_user ON support_keys (user_id);

CREATE TABLE invitations (
    id             UUID        PRIMARY KEY,
    org_id         UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    invited_by     UUID        REFERENCES users (id) ON DELETE SET NULL,
    email          TEXT        NOT NULL,
    role           TEXT        NOT NULL,
    workspace_id   UUID        REFERENCES workspaces (id) ON DELETE CASCADE,
    lookup         TEXT        NOT NULL UNIQUE,
    mac            BYTEA       NOT NULL,
    pepper_version INTEGER     NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    accepted_at    TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX invitations_org ON invitations (org_id);

CREATE TABLE recovery_codes (
    org_id    UUID        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id   UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT        NOT NULL,
    used_at   TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);
