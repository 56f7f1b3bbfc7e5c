-- The audit log: an append-only Merkle log (RFC 9162 hashing) of security-relevant events with
-- signed checkpoints. Personal data (IP, user agent, email) is sealed under a per-subject key and
-- the leaf commits to it only through an HMAC under that key, so erasing the key erases the data
-- and leaves every proof valid.
CREATE TABLE audit_subjects (
    id         UUID        PRIMARY KEY,
    subject_key BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    erased_at  TIMESTAMPTZ
);

CREATE TABLE audit_log (
    seq        BIGINT      PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    -- NULL only for instance-level events with no tenant (a failed login for an unknown email).
    org_id     UUID,
    action     TEXT        NOT NULL,
    actor      TEXT        NOT NULL,
    resource   TEXT,
    outcome    TEXT        NOT NULL,
    reason     TEXT,
    subject_id UUID        REFERENCES audit_subjects (id),
    personal   BYTEA,
    entry      TEXT        NOT NULL,
    leaf_hash  BYTEA       NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, seq);
CREATE INDEX audit_log_time ON audit_log (created_at);

CREATE TABLE audit_checkpoints (
    tree_size  BIGINT      PRIMARY KEY,
    root_hash  BYTEA       NOT NULL,
    note       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
