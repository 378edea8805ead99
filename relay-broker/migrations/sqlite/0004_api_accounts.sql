-- Accounts added through the admin API (accounts from the config file are not stored): the
-- account as submitted (JSON of `[[tenants.accounts]]`; secrets only as sources, never values).
CREATE TABLE api_accounts (
    tenant     TEXT    NOT NULL,
    alias      TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias)
);
