-- Participant deletion requests (docs/lifecycle.md): someone without an account asks an org to
-- erase what its meetings hold of them. `details` is their name, email, the meeting they name
-- (a link or a date) and their message, as JSON sealed under the org's key; `token_hash` is the
-- SHA-256 of the token emailed to them, with which they confirm the request and later fetch its
-- outcome. state: unconfirmed (until the token is used; deleted after `expires_at`) | open |
-- completed | rejected. `decision` is the owner's reason or note, sealed like `details`.
-- Times are Unix milliseconds.
CREATE TABLE deletion_requests (
    id             BLOB PRIMARY KEY,
    org_id         BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    token_hash     BLOB NOT NULL UNIQUE,
    details        BLOB NOT NULL,
    state          TEXT NOT NULL,
    decision       BLOB,
    decided_by     BLOB,
    certificate_id BLOB,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    confirmed_at   BIGINT,
    decided_at     BIGINT
);
CREATE INDEX deletion_requests_org ON deletion_requests (org_id, state, created_at);
CREATE INDEX deletion_requests_expiry ON deletion_requests (state, expires_at);
