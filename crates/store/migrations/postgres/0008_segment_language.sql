-- The language a transcribed segment was spoken in (a Whisper code, as the engine detected it
-- per track or per 30-second window); null for imported segments and remote providers. Not
-- content: a language code, like the meeting's own `language`.
ALTER TABLE transcript_segments ADD COLUMN language TEXT;
