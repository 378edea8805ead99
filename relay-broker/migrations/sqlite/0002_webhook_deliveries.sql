-- Webhook deliveries seen, so a redelivery (same request id) is processed once, across restarts
-- and replicas. Pruned with old sync runs by `Store::prune_history`.
CREATE TABLE webhook_deliveries (
    tenant      TEXT    NOT NULL,
    alias       TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias, delivery_id)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
