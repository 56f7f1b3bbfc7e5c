-- An org's own OpenID Connect provider (its own client registration; the secret sealed under
-- the org's key). It signs people in to that org only, for the org's email domains.
CREATE TABLE org_oidc (
    org_id          BLOB PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    issuer          TEXT,
    tenant          TEXT,
    allowed_tenants TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_secret   BLOB NOT NULL,
    updated_at      BIGINT NOT NULL
);
