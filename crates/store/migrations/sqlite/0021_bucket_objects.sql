-- Deleting from the customer's bucket, where the customer allows it. A destination says
-- whether meetvault may delete what it wrote there (checked with a probe delete when it is
-- turned on); the ledger below is what meetvault wrote, object by object, so a meeting's
-- deletion (or a participant's) deletes exactly those objects and nothing else the customer
-- keeps beside them, and its certificate says which were deleted and which were left, and why.
ALTER TABLE destinations ADD COLUMN allow_delete INTEGER NOT NULL DEFAULT 0;

CREATE TABLE bucket_objects (
    destination_id BLOB NOT NULL,
    object_key     TEXT NOT NULL,
    org_id         BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id     BLOB NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- recording | chat | transcript
    kind           TEXT NOT NULL,
    -- A recording's object: which recording it is.
    recording_id   BLOB,
    -- Bytes written (none: written before this ledger existed).
    size           BIGINT,
    written_at     BIGINT NOT NULL,
    -- When the bucket last refused to delete it (retention does not ask again; a deletion of
    -- the meeting does).
    refused_at     BIGINT,
    PRIMARY KEY (destination_id, object_key)
);
CREATE INDEX bucket_objects_meeting ON bucket_objects (meeting_id);

-- Recordings delivered before the ledger: their keys were kept on the recording.
INSERT INTO bucket_objects (destination_id, object_key, org_id, meeting_id, kind, recording_id, size, written_at)
SELECT delivered_to, delivered_key, org_id, meeting_id, 'recording', id, NULL, delivered_at
FROM recordings
WHERE delivered_to IS NOT NULL AND delivered_key IS NOT NULL AND delivered_at IS NOT NULL;

-- What the ledger cannot know: the deliveries made before it (their chat and transcript
-- files, a recording's earlier copies). Certificates say these stayed, unreachable by key.
ALTER TABLE meetings ADD COLUMN deliveries_before_ledger BIGINT NOT NULL DEFAULT 0;
UPDATE meetings SET deliveries_before_ledger = (
    SELECT COUNT(*) FROM outbox_events e
    WHERE e.resource_id = meetings.id AND e.kind = 'recording.files_ready'
);
