-- When an account's credentials were last all ended (it was disabled). Sessions and API tokens
-- are revoked row by row then; a session JWT of the identity provider is no row of ours, so one
-- issued before this moment is refused from then on, also once the account is enabled again.

ALTER TABLE users ADD COLUMN credentials_ended_at REAL;

-- Accounts disabled before this version get the same: otherwise their first `admin enable`
-- would bring back every session and token they had. Their end is the upgrade (Unix seconds).
UPDATE users SET credentials_ended_at = (julianday('now') - 2440587.5) * 86400.0
    WHERE disabled = 1;
UPDATE sessions SET revoked = 1
    WHERE revoked = 0 AND user_id IN (SELECT id FROM users WHERE disabled = 1);
UPDATE api_tokens SET revoked = 1
    WHERE revoked = 0 AND user_id IN (SELECT id FROM users WHERE disabled = 1);
