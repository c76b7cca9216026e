-- When an account's credentials were last all ended (it was disabled). Sessions and API tokens
-- are revoked row by row then; a session JWT of the identity provider is no row of ours, so one
-- issued before this moment is refused from then on, also once the account is enabled again.

ALTER TABLE users ADD COLUMN credentials_ended_at REAL;
