-- Friends, blocks, presence preferences, chat rooms, messages, reactions and message search.

CREATE TABLE friend_requests (
    from_id    INTEGER NOT NULL REFERENCES users(id),
    to_id      INTEGER NOT NULL REFERENCES users(id),
    created_at REAL    NOT NULL,
    PRIMARY KEY (from_id, to_id)
);
CREATE INDEX friend_requests_to ON friend_requests(to_id);

-- One row per friendship, stored in both directions so "my friends" is one indexed lookup.
CREATE TABLE friendships (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    friend_id  INTEGER NOT NULL REFERENCES users(id),
    created_at REAL    NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users(id),
    blocked_id INTEGER NOT NULL REFERENCES users(id),
    created_at REAL    NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks(blocked_id);

CREATE TABLE user_status (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id),
    away         INTEGER NOT NULL DEFAULT 0,   -- set by `coope status away`, kept across restarts
    text         TEXT    NOT NULL DEFAULT '',
    last_seen_at REAL
);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('dm', 'group')),
    name       TEXT    NOT NULL,
    dm_key     TEXT    UNIQUE,                -- 'lowid:highid' for direct rooms: one per pair
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at REAL    NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0     -- every change in the room takes the next number
);

CREATE TABLE room_members (
    room_id       INTEGER NOT NULL REFERENCES rooms(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    joined_at     REAL    NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members(user_id);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
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
CREATE INDEX messages_by_rev ON messages(room_id, rev);

CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    emoji      TEXT    NOT NULL,
    created_at REAL    NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
