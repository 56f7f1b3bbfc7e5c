-- What a running bot reports besides transitions and audio (docs/bot-protocol.md): the clock
-- of its audio, chat messages (deduplicated by the platform's message key; sender name and
-- text sealed), active-speaker changes, its tracks (whose they are, what the capture measured,
-- whether their participant opted out), participants' opt-outs and a sealed diagnosis of a
-- page it gave up on (the blob `…/bots/{id}/diagnosis`; only its time is here).
ALTER TABLE bots ADD COLUMN audio_started_at BIGINT;
ALTER TABLE bots ADD COLUMN diagnosis_at BIGINT;
ALTER TABLE bot_participants ADD COLUMN opted_out_at BIGINT;

-- Replaced by bot_chat_messages and bot_speaker_changes below (no bot process wrote to it:
-- the shapes it held were never sent by `meetvault bot run`).
DROP TABLE bot_events;

CREATE TABLE bot_chat_messages (
    id         BLOB PRIMARY KEY,
    org_id     BLOB NOT NULL,
    bot_id     BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    -- The platform's key for the message (an opaque id): a message sent twice is stored once.
    dedupe_key TEXT NOT NULL,
    sender_id  TEXT,
    sender     BLOB NOT NULL,
    body       BLOB NOT NULL,
    at         BIGINT NOT NULL,
    UNIQUE (bot_id, dedupe_key)
);
CREATE INDEX bot_chat_messages_bot ON bot_chat_messages (bot_id, at);

-- One row per change of who the platform shows speaking (ids separated by spaces; empty:
-- nobody), with the server's time of receipt.
CREATE TABLE bot_speaker_changes (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL,
    bot_id          BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    participant_ids TEXT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX bot_speaker_changes_bot ON bot_speaker_changes (bot_id, at);

-- A captured track: the participant it was mapped to, what the capture measured when it
-- ended, and when its participant opted out (its audio is deleted and refused from then on).
CREATE TABLE bot_tracks (
    bot_id           BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    track            TEXT NOT NULL,
    org_id           BLOB NOT NULL,
    participant_id   TEXT,
    mapped_at        BIGINT,
    samples_expected BIGINT,
    samples_received BIGINT,
    ended_at         BIGINT,
    opted_out_at     BIGINT,
    PRIMARY KEY (bot_id, track)
);
