-- Ids are never used twice. A plain INTEGER PRIMARY KEY takes max(id) + 1, so deleting the newest
-- row hands its id to the next one, and an id a script saved would silently name something new.
-- AUTOINCREMENT keeps the highest id ever given in sqlite_sequence. SQLite cannot add it to a
-- table, so each table whose ids people see is rebuilt the documented way (create, copy, drop,
-- rename; foreign keys are off meanwhile and checked before the commit). Rows keep their ids, and
-- the full-text indexes, which point at those ids, stay as they are; triggers and indexes of a
-- rebuilt table go with it and are made again.
--
-- An id freed before this migration (the newest row deleted) can still come back once: nothing
-- remembers it. From here on, none can.

CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT,                 -- NULL for accounts that only sign in through the IdP
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL    NOT NULL,
    external_id   TEXT    UNIQUE,       -- the identity provider's user id
    email         TEXT
);
INSERT INTO users_new (id, username, display_name, password_hash, role, disabled, created_at,
                       external_id, email)
    SELECT id, username, display_name, password_hash, role, disabled, created_at, external_id,
           email FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE TABLE api_tokens_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE, -- sha256 of the token; the token itself is never stored
    created_at   REAL    NOT NULL,
    expires_at   REAL,
    last_used_at REAL,
    revoked      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO api_tokens_new (id, user_id, name, prefix, secret_hash, created_at, expires_at,
                            last_used_at, revoked)
    SELECT id, user_id, name, prefix, secret_hash, created_at, expires_at, last_used_at, revoked
    FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

CREATE TABLE rooms_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('dm', 'group')),
    name       TEXT    NOT NULL,
    dm_key     TEXT    UNIQUE,                -- 'lowid:highid' for direct rooms: one per pair
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at REAL    NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0     -- every change in the room takes the next number
);
INSERT INTO rooms_new (id, kind, name, dm_key, created_by, created_at, last_seq)
    SELECT id, kind, name, dm_key, created_by, created_at, last_seq FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_new RENAME TO rooms;

CREATE TABLE messages_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    seq        INTEGER NOT NULL,              -- position in the room
    rev        INTEGER NOT NULL,              -- the room sequence number of the last change
    author_id  INTEGER NOT NULL REFERENCES users(id),
    client_id  TEXT    NOT NULL,              -- the sender's id: a retried send is stored once
    body       TEXT    NOT NULL,
    reply_to   INTEGER REFERENCES messages(id),
    created_at REAL    NOT NULL,
    edited_at  REAL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (room_id, seq),
    UNIQUE (author_id, client_id)
);
INSERT INTO messages_new (id, room_id, seq, rev, author_id, client_id, body, reply_to, created_at,
                          edited_at, deleted)
    SELECT id, room_id, seq, rev, author_id, client_id, body, reply_to, created_at, edited_at,
           deleted FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_by_rev ON messages(room_id, rev);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;

CREATE TABLE workspaces_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    created_at REAL    NOT NULL
);
INSERT INTO workspaces_new (id, name, created_at) SELECT id, name, created_at FROM workspaces;
DROP TABLE workspaces;
ALTER TABLE workspaces_new RENAME TO workspaces;

CREATE TABLE pages_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    parent_id     INTEGER REFERENCES pages(id),
    title         TEXT    NOT NULL,
    icon          TEXT    NOT NULL DEFAULT '',
    cover         TEXT,                      -- file name under covers/ (content hash + type)
    position      TEXT    NOT NULL,          -- fractional index among its siblings
    archived_root INTEGER,                   -- set on a whole subtree when archived: its root
    created_by    INTEGER NOT NULL REFERENCES users(id),
    created_at    REAL    NOT NULL,
    updated_at    REAL    NOT NULL,
    body_text     TEXT    NOT NULL DEFAULT '', -- plain text of the content, for search
    snapshot      BLOB,                      -- compacted content (a Yjs update)
    snapshot_seq  INTEGER NOT NULL DEFAULT 0 -- the last logged update the snapshot contains
);
INSERT INTO pages_new (id, workspace_id, parent_id, title, icon, cover, position, archived_root,
                       created_by, created_at, updated_at, body_text, snapshot, snapshot_seq)
    SELECT id, workspace_id, parent_id, title, icon, cover, position, archived_root, created_by,
           created_at, updated_at, body_text, snapshot, snapshot_seq FROM pages;
DROP TABLE pages;
ALTER TABLE pages_new RENAME TO pages;
CREATE INDEX pages_tree ON pages(workspace_id, parent_id);
CREATE TRIGGER pages_fts_insert AFTER INSERT ON pages BEGIN
    INSERT INTO pages_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text);
END;
CREATE TRIGGER pages_fts_update AFTER UPDATE OF title, body_text ON pages BEGIN
    INSERT INTO pages_fts(pages_fts, rowid, title, body_text)
        VALUES ('delete', old.id, old.title, old.body_text);
    INSERT INTO pages_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text);
END;
CREATE TRIGGER pages_fts_delete AFTER DELETE ON pages BEGIN
    INSERT INTO pages_fts(pages_fts, rowid, title, body_text)
        VALUES ('delete', old.id, old.title, old.body_text);
END;
