-- Pull-request listings are ordered by (updated_at, alias, project, slug, id), all descending;
-- these indices carry the whole order so a page is read straight off the index, with or
-- without a state or author filter, instead of sorting every PR of the tenant.
DROP INDEX pull_requests_recent;
DROP INDEX pull_requests_state;
DROP INDEX pull_requests_author;
CREATE INDEX pull_requests_recent
    ON pull_requests (tenant, updated_at, alias, project, slug, id);
CREATE INDEX pull_requests_state
    ON pull_requests (tenant, state, updated_at, alias, project, slug, id);
CREATE INDEX pull_requests_author
    ON pull_requests (tenant, author_slug, updated_at, alias, project, slug, id);
