-- The audit log: an append-only Merkle log (RFC 9162 hashing) of security-relevant events with
-- signed checkpoints. Personal data (IP, user agent, email) is sealed under a per-subject key and
-- the leaf commits to it only through an HMAC under that key, so erasing the key erases the data
-- and leaves every proof valid.
CREATE TABLE audit_subjects (
    id          BLOB PRIMARY KEY,
    subject_key BLOB,
    created_at  TEXT NOT NULL,
    erased_at   TEXT
);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    created_at TEXT    NOT NULL,
    -- NULL only for instance-level events with no tenant (a failed login for an unknown email).
    org_id     BLOB,
    action     TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    resource   TEXT,
    outcome    TEXT    NOT NULL,
    reason     TEXT,
    subject_id BLOB    REFERENCES audit_subjects (id),
    personal   BLOB,
    entry      TEXT    NOT NULL,
    leaf_hash  BLOB    NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, seq);
CREATE INDEX audit_log_time ON audit_log (created_at);

CREATE TABLE audit_checkpoints (
    tree_size  INTEGER PRIMARY KEY,
    root_hash  BLOB    NOT NULL,
    note       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit tables are append-only: UPDATE on audit_log refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit tables are append-only: DELETE on audit_log refused'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit tables are append-only: UPDATE on audit_checkpoints refused'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit tables are append-only: DELETE on audit_checkpoints refused'); END;
