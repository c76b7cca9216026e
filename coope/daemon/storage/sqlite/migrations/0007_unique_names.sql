-- Names that address things are unique in their scope, compared by key (`coope.core.names`:
-- NFKC, casefolded, without invisible characters, white space collapsed): a workspace's name
-- among all workspaces, a group room's name among all group rooms, and a page's title among its
-- siblings (the pages under one parent, or at the top of one workspace). The daemon computes the key; the unique indexes make the rule hold under
-- concurrent writers. A page in the trash keeps its place under its parent but is out of its
-- siblings' way until it is restored (an archived subtree's root is left out of the index).
--
-- Duplicates made before are renamed, the oldest (lowest id) keeping its name: "Team",
-- "Team (2)", "Team (3)"... A workspace or group room whose name reads as an id (`12`, `#12`),
-- which a name resolver would always take for one, is renamed "Workspace 12" or "room 12".
-- The keys are computed by the same function as every later write's; a change to that
-- function needs a migration that computes every key again.

ALTER TABLE workspaces ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE pages ADD COLUMN title_key TEXT NOT NULL DEFAULT '';

-- python: unique_names

CREATE UNIQUE INDEX workspaces_by_name ON workspaces(name_key);
CREATE UNIQUE INDEX group_rooms_by_name ON rooms(name_key) WHERE kind = 'group';
CREATE UNIQUE INDEX pages_by_title ON pages(workspace_id, IFNULL(parent_id, 0), title_key)
    WHERE archived_root IS NULL OR archived_root <> id;
