-- Glossaries: names and jargon the transcriber is prompted with (Whisper's initial prompt).
-- They are content: a meeting's is sealed under the meeting's key (envelope bound to org,
-- "meetings", the meeting id and the field "glossary"), the org's under the org key (bound to
-- org, "orgs", the org id and "glossary"; re-sealed when the org key rotates). NULL: none.
ALTER TABLE meetings ADD COLUMN glossary BYTEA;
ALTER TABLE orgs ADD COLUMN glossary BYTEA;
