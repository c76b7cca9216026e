-- Presence that means something: a chosen status (available, away, busy or dnd) with a text,
-- both ending by themselves at `expires_at` if one is set, and the last activity of any kind
-- (an authenticated request or a live connection), not only the end of the last connection.

ALTER TABLE user_status ADD COLUMN status TEXT NOT NULL DEFAULT 'available'
    CHECK (status IN ('available', 'away', 'busy', 'dnd'));
ALTER TABLE user_status ADD COLUMN expires_at REAL;
UPDATE user_status SET status = 'away' WHERE away = 1;
ALTER TABLE user_status DROP COLUMN away;
ALTER TABLE user_status RENAME COLUMN last_seen_at TO last_active_at;

-- The statuses still to end, read when the daemon starts to announce each end when it comes.
CREATE INDEX user_status_ends ON user_status(expires_at) WHERE expires_at IS NOT NULL;
