-- The secret that signs sessions, kept in the database: every daemon serving from this database
-- signs and checks with the same one. It was a file in the data dir, of which each node of a
-- service would have had its own; the daemon moves that file's secret here when it starts.

CREATE TABLE service_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
