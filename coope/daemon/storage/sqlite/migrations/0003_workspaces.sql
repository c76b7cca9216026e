-- Workspaces, members, invites, the page tree, page content (update log + snapshot), search.

CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at REAL    NOT NULL
);

CREATE TABLE workspace_members (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    joined_at    REAL    NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members(user_id);

CREATE TABLE invites (
    code         TEXT    PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by   INTEGER NOT NULL REFERENCES users(id),
    created_at   REAL    NOT NULL,
    expires_at   REAL,
    max_uses     INTEGER,
    uses         INTEGER NOT NULL DEFAULT 0,
    revoked      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invites_workspace ON invites(workspace_id);

CREATE TABLE pages (
    id            INTEGER PRIMARY KEY,
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
CREATE INDEX pages_tree ON pages(workspace_id, parent_id);

CREATE TABLE page_updates (
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    data    BLOB    NOT NULL,
    PRIMARY KEY (page_id, seq)
);

CREATE VIRTUAL TABLE pages_fts USING fts5(
    title, body_text, content='pages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
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
