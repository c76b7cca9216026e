-- The webhook ledger keeps a digest of each delivery's body, so that svix retrying a delivery
-- (same id, same body) is answered as done without a second effect, while a different body under
-- an id already seen is refused. Rows older than the retention are pruned by received_at.
-- Rows from before this migration have no digest: a retry of one is taken as the same delivery.

ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT;
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries(received_at);
