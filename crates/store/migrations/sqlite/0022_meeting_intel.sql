-- Meeting intelligence: a meeting's summary (overview, key points, decisions, action items) and
-- its part of the search index (passages, BM25 postings, embedding vectors), each sealed under
-- the meeting's key like its transcript, so crypto-shredding the meeting makes both unreadable
-- and deleting it deletes the row. Nothing here is plaintext but ids, times and the name of
-- the processor that made the summary.
CREATE TABLE meeting_intel (
    meeting_id      BLOB PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    org_id          BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- The summary as JSON, sealed (field "summary"); none until one was made.
    summary         BLOB,
    -- The processor that made it ("embedded", "rules" …) and when (Unix ms).
    generated_by    TEXT,
    generated_at    BIGINT,
    -- The owner's last edit (Unix ms) and who made it; a regeneration clears both.
    edited_at       BIGINT,
    edited_by       BLOB,
    -- The search index segment, sealed (field "search_index"); none until indexed.
    search_index    BLOB,
    indexed_at      BIGINT,
    -- Transcript segments the summary and index were made from.
    source_segments BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX meeting_intel_org ON meeting_intel (org_id);

-- The org's meeting-intelligence settings as JSON (the provider that writes overviews — the
-- embedded model, or an OpenAI-compatible server with the configuring user's stored key —
-- and PII redaction); none: the server's `[intelligence]` defaults.
ALTER TABLE orgs ADD COLUMN intelligence TEXT;
