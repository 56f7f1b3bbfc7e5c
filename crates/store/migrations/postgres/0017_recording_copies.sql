-- Where a recording's copies are: when its transcript was stored, when (and where) it reached
-- the customer's bucket, and when meetvault deleted its own copy after that. Unix milliseconds.
ALTER TABLE recordings ADD COLUMN transcribed_at BIGINT;
ALTER TABLE recordings ADD COLUMN delivered_at BIGINT;
ALTER TABLE recordings ADD COLUMN delivered_to UUID;
ALTER TABLE recordings ADD COLUMN delivered_key TEXT;
ALTER TABLE recordings ADD COLUMN local_deleted_at BIGINT;
-- When what a bot captured became recordings (its chunks are not needed after that, and a
-- second run of its processing does nothing).
ALTER TABLE bots ADD COLUMN audio_processed_at BIGINT;
