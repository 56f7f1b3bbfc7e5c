-- Retention policies (docs/lifecycle.md): the org's own (scope_id = the org's id, with the
-- maxima workspaces and bots cannot exceed) and each workspace's (scope_id = the workspace's
-- id). policy is JSON of windows ({"recordings": 0, "transcripts": 30, "bot_data": "forever",
-- "events": 7, "max": {...}}): a number of days or "forever"; a missing part inherits.
-- No content: ids and numbers only. Times are Unix milliseconds.
CREATE TABLE retention_policies (
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    scope_id   UUID NOT NULL,
    policy     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, scope_id)
);

-- A meeting's own windows (JSON as above, no maxima), set by the bot that made it.
ALTER TABLE meetings ADD COLUMN retention TEXT;
-- What retention already deleted of a meeting: JSON {"recordings": {"at": ms, "certificate":
-- "<uuid>"}, …} (ids and times only).
ALTER TABLE meetings ADD COLUMN purged TEXT;

-- Leases on work one instance at a time does (the retention sweep): held by `holder` until
-- `until` (Unix ms), then free for any instance to take.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);

-- Org closure: an owner closed the org at closed_at; it is erased at erase_at (Unix ms) unless
-- an owner reopens it first.
ALTER TABLE orgs ADD COLUMN closed_at BIGINT;
ALTER TABLE orgs ADD COLUMN erase_at BIGINT;
