-- Documents attached to a meeting (pre-reads: PDF, Markdown, HTML, text). The file itself is
-- not kept: its extracted text, the chunks' places in it and their part of the search index
-- (BM25 postings, embedding vectors) are sealed together under the meeting's key (field
-- "content"), its name too (field "name"). Ephemeral by default: `expires_at` is when the
-- sweeper deletes it, and the meeting's end (its bot done) deletes it sooner; a document
-- attached with `keep` has none and goes with the transcript (retention: transcripts).
CREATE TABLE meeting_documents (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    meeting_id  UUID NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    name        BYTEA NOT NULL,
    media_type  TEXT NOT NULL,
    -- The uploaded file's size, the extracted text's characters and its chunks.
    size_bytes  BIGINT NOT NULL,
    chars       BIGINT NOT NULL,
    chunks      BIGINT NOT NULL,
    content     BYTEA NOT NULL,
    -- Unix ms; none: kept with the transcript.
    expires_at  BIGINT,
    created_by  UUID NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX meeting_documents_meeting ON meeting_documents (meeting_id, created_at);
CREATE INDEX meeting_documents_expiry ON meeting_documents (expires_at) WHERE expires_at IS NOT NULL;
