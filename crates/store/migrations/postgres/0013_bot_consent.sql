-- Consent policies for meeting bots, per org and per workspace: the consent message a bot posts
-- on admission, the opt-out phrase, and whether every bot must post it (JSON; operator text,
-- not meeting content). NULL: no policy at that level (the next level's, else the default).
ALTER TABLE orgs ADD COLUMN bot_consent TEXT;
ALTER TABLE workspaces ADD COLUMN bot_consent TEXT;
