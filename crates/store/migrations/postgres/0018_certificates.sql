-- Deletion certificates. No foreign keys: a certificate outlives the meeting, the account and
-- the org it speaks of. A row is written (pending, with the inventory counted before anything
-- is deleted) before the deletion starts, so a deletion cut off by a crash is finished and
-- certified exactly once when it is retried; once issued it never changes or goes away.
-- Times are Unix milliseconds.
CREATE TABLE certificates (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL,
    -- meeting | account | org | participant
    subject_kind TEXT NOT NULL,
    subject_id   UUID NOT NULL,
    -- pending | issued
    state        TEXT NOT NULL CHECK (state IN ('pending', 'issued')),
    -- Pending: JSON of what was counted before the deletion (counts and key versions only).
    draft        TEXT,
    -- Issued: the certificate's canonical JSON (RFC 8785), its signatures, the SHA-256 of the
    -- canonical bytes and the audit entry that commits to that hash.
    body         TEXT,
    ed25519      BYTEA,
    hmac         BYTEA,
    digest       BYTEA,
    audit_seq    BIGINT,
    -- JSON: the audit entry's inclusion proof against the checkpoint signed when it was issued
    -- (it never changes, so a read costs no walk of the log).
    inclusion    TEXT,
    created_at   BIGINT NOT NULL,
    issued_at    BIGINT,
    UNIQUE (subject_kind, subject_id)
);
CREATE INDEX certificates_org ON certificates (org_id, created_at);

CREATE FUNCTION certificates_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.state = 'pending' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an issued certificate never changes or goes away: % on certificates refused', TG_OP;
END
$$;
CREATE TRIGGER certificates_keep BEFORE UPDATE OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_keep();
CREATE TRIGGER certificates_no_truncate BEFORE TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION certificates_keep();
