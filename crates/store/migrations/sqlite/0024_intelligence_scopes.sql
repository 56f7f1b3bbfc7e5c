-- Meeting-intelligence settings below the org's (0022): a workspace's and a meeting's own (a
-- bot's are its meeting's), as JSON; none inherits from the level above. They name a
-- provider, its model and the name of a stored secret, never a key or any content.
ALTER TABLE workspaces ADD COLUMN intelligence TEXT;
ALTER TABLE meetings ADD COLUMN intelligence TEXT;
