-- The installation itself: one row, created on first start.
CREATE TABLE instance (
    singleton   SMALLINT    PRIMARY KEY CHECK (singleton = 1),
    instance_id UUID        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
