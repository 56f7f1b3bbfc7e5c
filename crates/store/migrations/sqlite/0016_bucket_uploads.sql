-- A bot's tracks streamed into the customer's bucket while it records: one S3 multipart
-- upload per track, each part recorded the moment S3 took it, so a restart resumes where it
-- stopped and nothing in the bucket is left that meetvault cannot find again and abort.
-- The file is the track's WAV; its first part (with the header that carries the length)
-- goes last, when the meeting ends. Times are Unix milliseconds.
CREATE TABLE bucket_uploads (
    -- Also the id of the recording the track becomes (its key names it).
    id             BLOB PRIMARY KEY,
    org_id         BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    bot_id         BLOB NOT NULL,
    meeting_id     BLOB NOT NULL,
    destination_id BLOB NOT NULL,
    track          TEXT NOT NULL,
    object_key     TEXT NOT NULL,
    -- S3's UploadId, once CreateMultipartUpload answered (none: being created).
    upload_id      TEXT,
    -- creating | open | completed | aborted
    state          TEXT NOT NULL,
    -- JSON [{"n": part number, "etag": …, "sha256": hex of what was sent}], parts 2 on.
    parts          TEXT NOT NULL,
    -- WAV bytes before the next part (part 1's bytes count as sent: it is held back).
    sent           BIGINT NOT NULL,
    -- The audio chunk the next part starts in, and the WAV offset that chunk starts at.
    resume_seq     BIGINT NOT NULL,
    resume_base    BIGINT NOT NULL,
    -- With an age recipient: the age header, and the payload key sealed under the meeting key.
    age_header     BLOB,
    age_key        BLOB,
    -- The last failure talking to the bucket (the bot records on; the end-of-meeting
    -- delivery uploads what is missing).
    error          TEXT,
    error_at       BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (bot_id, track)
);
CREATE INDEX bucket_uploads_state ON bucket_uploads (state, updated_at);
