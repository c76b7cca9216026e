-- Accounts an admin deleted. The row stays as a tombstone, so that the messages, reactions and
-- pages it wrote keep an author and its id is never given to anyone else: it is disabled, has
-- no credentials and no email, it keeps its identity-provider id (so that the provider's later
-- deliveries find the tombstone and change nothing), its display name is "deleted user"
-- and its username is "deleted:ID" (a name no signup can take: ':' is not allowed in one), which
-- frees the old username for anyone.

ALTER TABLE users ADD COLUMN deleted_at REAL;
