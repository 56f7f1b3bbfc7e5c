-- Meetings gain their schedule, language and transcription settings; recordings their speaker
-- label (encrypted) and what decoding found; segments their engine scores and the recording
-- (track) they came from; and the durable job queue.

ALTER TABLE meetings ADD COLUMN started_at TIMESTAMPTZ;
ALTER TABLE meetings ADD COLUMN language TEXT;
-- JSON: {"provider": "local"|"openai"|"deepgram", "model", "beam_size", "secret", "base_url"}.
-- Names a user secret for a remote provider's key; never holds the key.
ALTER TABLE meetings ADD COLUMN transcription TEXT NOT NULL DEFAULT '{}';
ALTER TABLE meetings ADD COLUMN updated_at TIMESTAMPTZ;
CREATE INDEX meetings_workspace ON meetings (org_id, workspace_id, created_at);

ALTER TABLE recordings ADD COLUMN speaker BYTEA;
ALTER TABLE recordings ADD COLUMN duration_ms BIGINT;
ALTER TABLE recordings ADD COLUMN codec TEXT;

ALTER TABLE transcript_segments ADD COLUMN recording_id UUID;
ALTER TABLE transcript_segments ADD COLUMN avg_logprob REAL;
ALTER TABLE transcript_segments ADD COLUMN no_speech_prob REAL;
CREATE INDEX transcript_segments_recording ON transcript_segments (recording_id);

-- The durable job queue. Times are Unix milliseconds so that both backends compare them the same
-- way. A running job whose lease has expired belongs to a lost worker and may be claimed again.
CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    org_id       UUID REFERENCES orgs (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    -- Ids only, never content.
    payload      TEXT NOT NULL,
    -- The meeting (or other resource) the job works on, for listing and events.
    resource_id  UUID,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    progress     INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX jobs_claim ON jobs (kind, state, run_at);
CREATE INDEX jobs_resource ON jobs (resource_id, created_at);
