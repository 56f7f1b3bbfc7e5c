-- SAML 2.0 sign-in for an org: its identity provider's metadata (entity id, sign-in URL and
-- signing certificates: public), and the assertions already used, kept until they expire so
-- a replayed one is refused.
CREATE TABLE org_saml (
    org_id       UUID PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    idp_metadata TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE TABLE saml_assertions (
    assertion_id TEXT PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX saml_assertions_expiry ON saml_assertions (expires_at);
