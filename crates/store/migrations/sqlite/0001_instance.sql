-- The installation itself: one row, created on first start.
CREATE TABLE instance (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    instance_id TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
