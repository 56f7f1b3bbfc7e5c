-- Meeting bots. A bot owns the meeting created with it (its transcript, exports and events are
-- that meeting's), so deleting the meeting deletes the bot. The meeting URL, the bot's name,
-- the caller's metadata, participant names and chat commands are content: envelopes under the
-- meeting's key, bound to (org, table, row, field). Options (timeouts, recording flags, the
-- consent message), states and times are not. Times are Unix milliseconds.
CREATE TABLE bots (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    workspace_id BLOB NOT NULL,
    meeting_id   BLOB NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    owner_id     BLOB NOT NULL,
    meeting_url  BLOB NOT NULL,
    bot_name     BLOB NOT NULL,
    metadata     BLOB NOT NULL,
    options      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('scheduled', 'joining', 'waiting_room', 'joined',
                 'recording', 'paused', 'leaving', 'post_processing', 'ended', 'fatal_error')),
    sub_code     TEXT,
    join_at      BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- SHA-256 of the bot's `mvb_` token; cleared when the bot ends.
    token_hash   TEXT,
    launched_at  BIGINT,
    heartbeat_at BIGINT,
    -- The leave the API or a timeout asked for (its sub-code), until the bot ends.
    leave_requested TEXT
);
CREATE INDEX bots_org ON bots (org_id, created_at);
CREATE INDEX bots_state ON bots (state, join_at);

-- Every transition of a bot, in order (the timeline).
CREATE TABLE bot_transitions (
    bot_id     BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    org_id     BLOB NOT NULL,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    sub_code   TEXT,
    at         BIGINT NOT NULL,
    PRIMARY KEY (bot_id, seq)
);

-- The participants a bot saw: the platform's opaque id in clear, the name sealed.
CREATE TABLE bot_participants (
    id        BLOB PRIMARY KEY,
    org_id    BLOB NOT NULL,
    bot_id    BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    ext_id    TEXT NOT NULL,
    name      BLOB,
    joined_at BIGINT NOT NULL,
    left_at   BIGINT,
    -- The captured track (`TrackKey`) the platform maps to this participant.
    track     TEXT,
    UNIQUE (bot_id, ext_id)
);

-- Captured audio: one sealed blob per (track, seq), written as it arrives.
CREATE TABLE bot_audio_chunks (
    bot_id     BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    track      TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    org_id     BLOB NOT NULL,
    start_ms   BIGINT NOT NULL,
    samples    BIGINT NOT NULL,
    blob_key   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bot_id, track, seq)
);

-- Commands for a bot (leave, send_chat), delivered once through its long-poll.
CREATE TABLE bot_commands (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL,
    bot_id       BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    body         BLOB,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX bot_commands_pending ON bot_commands (bot_id, delivered_at, created_at);

-- What the bot saw besides participants: chat messages (the text sealed) and active-speaker
-- changes, with the server's time of receipt.
CREATE TABLE bot_events (
    id             BLOB PRIMARY KEY,
    org_id         BLOB NOT NULL,
    bot_id         BLOB NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('chat_message', 'active_speaker')),
    participant_id TEXT NOT NULL,
    body           BLOB,
    at             BIGINT NOT NULL
);
CREATE INDEX bot_events_bot ON bot_events (bot_id, at);
