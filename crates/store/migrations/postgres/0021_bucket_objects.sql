-- Deleting from the customer's bucket, where the customer allows it. A destination says
-- whether meetvault may delete what it wrote there (checked with a probe delete when it is
-- turned on); the ledger below is what meetvault wrote, object by object, so a meeting's
-- deletion (or a participant's) deletes exactly those objects and nothing else the customer
-- keeps beside them, and its certificate says which were deleted and which were left, and why.
ALTER TABLE destinations ADD COLUMN allow_delete BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE bucket_objects (
    destination_id UUID NOT NULL,
    object_key     TEXT NOT NULL,
    org_id         UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id     UUID NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    -- recording | chat | transcript
    kind           TEXT NOT NULL,
    -- A recording's object: which recording it is.
    recording_id   UUID,
    -- Bytes written (none: written before this ledger existed).
    size           BIGINT,
    written_at     BIGINT NOT NULL,
    PRIMARY KEY (destination_id, object_key)
);
CREATE INDEX bucket_objects_meeting ON bucket_objects (org_id, meeting_id);

-- Recordings delivered before the ledger: their keys were kept on the recording.
INSERT INTO bucket_objects (destination_id, object_key, org_id, meeting_id, kind, recording_id, size, written_at)
SELECT delivered_to, delivered_key, org_id, meeting_id, 'recording', id, NULL, delivered_at
FROM recordings
WHERE delivered_to IS NOT NULL AND delivered_key IS NOT NULL AND delivered_at IS NOT NULL;
