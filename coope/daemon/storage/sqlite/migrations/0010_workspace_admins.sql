-- A workspace role between owner and editor: admins invite people and manage members and roles
-- (never an owner's), but neither rename, hand over nor delete the workspace
-- (`coope.core.rules.WORKSPACE_PERMISSIONS`). The role column's CHECK lists the roles, and SQLite
-- cannot change a CHECK in place, so the table is rebuilt the documented way (create, copy,
-- drop, rename; see 0006). Nothing references it, so rows and their keys carry over as they are.
-- Invites still give editors or viewers only: making someone an admin is a deliberate act.

CREATE TABLE workspace_members_new (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    joined_at    REAL    NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
INSERT INTO workspace_members_new (workspace_id, user_id, role, joined_at)
    SELECT workspace_id, user_id, role, joined_at FROM workspace_members;
DROP TABLE workspace_members;
ALTER TABLE workspace_members_new RENAME TO workspace_members;
CREATE INDEX workspace_members_user ON workspace_members(user_id);
