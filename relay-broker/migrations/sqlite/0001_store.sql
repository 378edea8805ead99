-- The broker's store, SQLite dialect (docs/store.md). The PostgreSQL schema mirrors it:
-- INTEGER timestamps are epoch milliseconds (BIGINT there), 0/1 flags are BOOLEAN there, JSON
-- text is JSONB there, and `sync_runs.id` is an identity column.
--
-- Every table carries `tenant` (and `alias` for account data) at the front of its primary key;
-- repository data references its repository with ON DELETE CASCADE, so deleting a project or a
-- repository deletes everything below it in the same transaction.

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL,
    alias       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL,
    calls       INTEGER NOT NULL DEFAULT 0,
    errors      TEXT    NOT NULL DEFAULT '[]',
    detail      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_runs_latest ON sync_runs (tenant, alias, kind, id);
CREATE INDEX sync_runs_status ON sync_runs (status);

CREATE TABLE checkpoints (
    tenant     TEXT    NOT NULL,
    alias      TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias, scope, key)
);

CREATE TABLE projects (
    tenant      TEXT    NOT NULL,
    alias       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    id          INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    public      INTEGER NOT NULL,
    personal    INTEGER NOT NULL,
    link        TEXT,
    PRIMARY KEY (tenant, alias, key)
);

CREATE TABLE repos (
    tenant              TEXT    NOT NULL,
    alias               TEXT    NOT NULL,
    project             TEXT    NOT NULL,
    slug                TEXT    NOT NULL,
    id                  INTEGER NOT NULL,
    name                TEXT    NOT NULL,
    archived            INTEGER NOT NULL,
    public              INTEGER NOT NULL,
    link                TEXT,
    default_branch      TEXT,
    head                TEXT,
    code_synced_at      INTEGER,
    file_count          INTEGER,
    top_language        TEXT,
    required_approvals  INTEGER,
    default_reviewers   TEXT,
    branch_restrictions TEXT,
    settings_synced_at  INTEGER,
    PRIMARY KEY (tenant, alias, project, slug),
    FOREIGN KEY (tenant, alias, project) REFERENCES projects (tenant, alias, key) ON DELETE CASCADE
);

-- `author_key`: lower-cased author email, or lower-cased name when there is none (computed by
-- the store so both databases group contributors the same way).
CREATE TABLE commits (
    tenant       TEXT    NOT NULL,
    alias        TEXT    NOT NULL,
    project      TEXT    NOT NULL,
    slug         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    author_name  TEXT    NOT NULL,
    author_email TEXT,
    author_key   TEXT    NOT NULL,
    author_at    INTEGER NOT NULL,
    committer_at INTEGER NOT NULL,
    message      TEXT    NOT NULL,
    link         TEXT,
    PRIMARY KEY (tenant, alias, project, slug, id),
    FOREIGN KEY (tenant, alias, project, slug) REFERENCES repos (tenant, alias, project, slug)
        ON DELETE CASCADE
);
-- Recent commits and events: newest first within a repository.
CREATE INDEX commits_recent ON commits (tenant, alias, project, slug, committer_at, author_at, id);

CREATE TABLE releases (
    tenant    TEXT    NOT NULL,
    alias     TEXT    NOT NULL,
    project   TEXT    NOT NULL,
    slug      TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    commit_id TEXT    NOT NULL,
    commit_at INTEGER,
    link      TEXT,
    PRIMARY KEY (tenant, alias, project, slug, name),
    FOREIGN KEY (tenant, alias, project, slug) REFERENCES repos (tenant, alias, project, slug)
        ON DELETE CASCADE
);

CREATE TABLE files (
    tenant  TEXT NOT NULL,
    alias   TEXT NOT NULL,
    project TEXT NOT NULL,
    slug    TEXT NOT NULL,
    path    TEXT NOT NULL,
    PRIMARY KEY (tenant, alias, project, slug, path),
    FOREIGN KEY (tenant, alias, project, slug) REFERENCES repos (tenant, alias, project, slug)
        ON DELETE CASCADE
);

CREATE TABLE pull_requests (
    tenant       TEXT    NOT NULL,
    alias        TEXT    NOT NULL,
    project      TEXT    NOT NULL,
    slug         TEXT    NOT NULL,
    id           INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    description  TEXT,
    state        TEXT    NOT NULL,
    author_slug  TEXT    NOT NULL,
    author_name  TEXT    NOT NULL,
    author_email TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    from_branch  TEXT    NOT NULL,
    to_branch    TEXT    NOT NULL,
    link         TEXT,
    PRIMARY KEY (tenant, alias, project, slug, id),
    FOREIGN KEY (tenant, alias, project, slug) REFERENCES repos (tenant, alias, project, slug)
        ON DELETE CASCADE
);
-- The high-water mark per repository, and listings (all, by state, by author), newest first.
CREATE INDEX pull_requests_updated ON pull_requests (tenant, alias, project, slug, updated_at);
CREATE INDEX pull_requests_recent ON pull_requests (tenant, updated_at);
CREATE INDEX pull_requests_state ON pull_requests (tenant, state, updated_at);
CREATE INDEX pull_requests_author ON pull_requests (tenant, author_slug, updated_at);

-- Reviewers and participants (`role`: 'reviewer' or 'participant').
CREATE TABLE pr_people (
    tenant    TEXT    NOT NULL,
    alias     TEXT    NOT NULL,
    project   TEXT    NOT NULL,
    slug      TEXT    NOT NULL,
    pr_id     INTEGER NOT NULL,
    role      TEXT    NOT NULL,
    user_slug TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    email     TEXT,
    status    TEXT    NOT NULL,
    approved  INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias, project, slug, pr_id, role, user_slug),
    FOREIGN KEY (tenant, alias, project, slug, pr_id)
        REFERENCES pull_requests (tenant, alias, project, slug, id) ON DELETE CASCADE
);
-- "Waiting for my review".
CREATE INDEX pr_people_user ON pr_people (tenant, user_slug, role);

CREATE TABLE pr_activities (
    tenant    TEXT    NOT NULL,
    alias     TEXT    NOT NULL,
    project   TEXT    NOT NULL,
    slug      TEXT    NOT NULL,
    pr_id     INTEGER NOT NULL,
    id        INTEGER NOT NULL,
    action    TEXT    NOT NULL,
    user_slug TEXT,
    at        INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias, project, slug, pr_id, id),
    FOREIGN KEY (tenant, alias, project, slug, pr_id)
        REFERENCES pull_requests (tenant, alias, project, slug, id) ON DELETE CASCADE
);

-- `email_key`: the lower-cased email, computed by the store; the identity join uses it.
CREATE TABLE users (
    tenant       TEXT    NOT NULL,
    alias        TEXT    NOT NULL,
    slug         TEXT    NOT NULL,
    id           INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    email        TEXT,
    email_key    TEXT,
    active       INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias, slug)
);
CREATE INDEX users_email ON users (tenant, email_key);

CREATE TABLE user_groups (
    tenant TEXT NOT NULL,
    alias  TEXT NOT NULL,
    name   TEXT NOT NULL,
    PRIMARY KEY (tenant, alias, name)
);

CREATE TABLE group_members (
    tenant     TEXT NOT NULL,
    alias      TEXT NOT NULL,
    group_name TEXT NOT NULL,
    user_slug  TEXT NOT NULL,
    PRIMARY KEY (tenant, alias, group_name, user_slug),
    FOREIGN KEY (tenant, alias, group_name) REFERENCES user_groups (tenant, alias, name)
        ON DELETE CASCADE
);

-- Per account: why groups are degraded (NULL: they are not).
CREATE TABLE identity_state (
    tenant          TEXT    NOT NULL,
    alias           TEXT    NOT NULL,
    groups_degraded TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, alias)
);

-- The portal's people directory, one entry per lower-cased email.
CREATE TABLE people (
    tenant    TEXT NOT NULL,
    email_key TEXT NOT NULL,
    email     TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (tenant, email_key)
);
