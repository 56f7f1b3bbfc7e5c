-- Single sign-on. An org's settings (its email domains are the operator's configuration): the
-- role a person signing in for the first time gets (just-in-time provisioning), and whether
-- its members must sign in through a provider (owners keep an audited password path).
CREATE TABLE org_sso (
    org_id       BLOB PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    jit          INTEGER NOT NULL DEFAULT 0,
    default_role TEXT NOT NULL,
    require_sso  INTEGER NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);
-- An account's identities at the providers: (provider, subject) is the provider's stable id
-- for the person.
CREATE TABLE sso_identities (
    provider      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    org_id        BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (org_id, user_id);
