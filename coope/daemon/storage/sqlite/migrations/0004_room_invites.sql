-- Invitations into group rooms. Only friends are added to a room directly; anyone else is
-- invited, and becomes a member (receiving the room's messages and unread counts) only by
-- accepting. One pending invitation per person and room.

CREATE TABLE room_invites (
    room_id    INTEGER NOT NULL REFERENCES rooms(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    invited_by INTEGER NOT NULL REFERENCES users(id),
    created_at REAL    NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_invites_user ON room_invites(user_id);
CREATE INDEX room_invites_by ON room_invites(invited_by);
