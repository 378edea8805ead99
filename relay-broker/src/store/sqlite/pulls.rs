//! Pull requests with their reviewers, participants and activities.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::begin_write;
use super::rows::{BATCH_ROWS, at, at_opt, corrupt, db, ms};
use crate::store::{
    ActivityRecord, ListedPullRequest, PrFilter, PrState, PrUser, PullRequestRecord, RepoKey,
    ReviewerRecord, StoreResult,
};

const REVIEWER: &str = "reviewer";
const PARTICIPANT: &str = "participant";

/// Upserts the pull request, replaces its reviewers, participants and activities.
pub(super) async fn apply_pull_request(
    pool: &SqlitePool,
    repo: &RepoKey,
    pr: &PullRequestRecord,
    activities: &[ActivityRecord],
) -> StoreResult<()> {
    let key = format!("{repo}#{}", pr.id);
    let result: Result<(), sqlx::Error> = async {
        let mut tx = begin_write(pool).await?;
        upsert_pr(&mut tx, repo, pr).await?;
        delete_of_pr(&mut tx, "DELETE FROM pr_people", repo, pr.id).await?;
        insert_people(&mut tx, repo, pr.id, REVIEWER, &pr.reviewers).await?;
        insert_people(&mut tx, repo, pr.id, PARTICIPANT, &pr.participants).await?;
        delete_of_pr(&mut tx, "DELETE FROM pr_activities", repo, pr.id).await?;
        insert_activities(&mut tx, repo, pr.id, activities).await?;
        tx.commit().await
    }
    .await;
    result.map_err(db("apply_pull_request", &key))
}

pub(super) async fn delete_pull_request(
    pool: &SqlitePool,
    repo: &RepoKey,
    id: i64,
) -> StoreResult<()> {
    // Reviewers and activities go with it (ON DELETE CASCADE).
    sqlx::query(
        "DELETE FROM pull_requests \
         WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 AND id = $5",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(id)
    .execute(pool)
    .await
    .map_err(db("delete_pull_request", &format!("{repo}#{id}")))?;
    Ok(())
}

async fn upsert_pr(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    pr: &PullRequestRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pull_requests (tenant, alias, project, slug, id, version, title, description, \
             state, author_slug, author_name, author_email, created_at, updated_at, closed_at, \
             from_branch, to_branch, link) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (tenant, alias, project, slug, id) DO UPDATE SET version = excluded.version, \
             title = excluded.title, description = excluded.description, state = excluded.state, \
             author_slug = excluded.author_slug, author_name = excluded.author_name, \
             author_email = excluded.author_email, created_at = excluded.created_at, \
             updated_at = excluded.updated_at, closed_at = excluded.closed_at, \
             from_branch = excluded.from_branch, to_branch = excluded.to_branch, \
             link = excluded.link",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(pr.id)
    .bind(pr.version)
    .bind(&pr.title)
    .bind(&pr.description)
    .bind(pr.state.as_str())
    .bind(&pr.author.slug)
    .bind(&pr.author.display_name)
    .bind(&pr.author.email)
    .bind(ms(pr.created_at))
    .bind(ms(pr.updated_at))
    .bind(pr.closed_at.map(ms))
    .bind(&pr.from_branch)
    .bind(&pr.to_branch)
    .bind(&pr.link)
    .execute(conn)
    .await?;
    Ok(())
}

async fn delete_of_pr(
    conn: &mut SqliteConnection,
    delete: &'static str,
    repo: &RepoKey,
    pr_id: i64,
) -> Result<(), sqlx::Error> {
    let mut q = QueryBuilder::<Sqlite>::new(delete);
    q.push(" WHERE tenant = ").push_bind(repo.tenant.as_str());
    q.push(" AND alias = ").push_bind(repo.alias.as_str());
    q.push(" AND project = ").push_bind(repo.project.as_str());
    q.push(" AND slug = ").push_bind(repo.slug.as_str());
    q.push(" AND pr_id = ").push_bind(pr_id);
    q.build().execute(conn).await?;
    Ok(())
}

async fn insert_people(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    pr_id: i64,
    role: &'static str,
    people: &[ReviewerRecord],
) -> Result<(), sqlx::Error> {
    let numbered: Vec<(i64, &ReviewerRecord)> = (0_i64..).zip(people).collect();
    for batch in numbered.chunks(BATCH_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pr_people (tenant, alias, project, slug, pr_id, role, user_slug, name, \
             email, status, approved, position) ",
        );
        q.push_values(batch, |mut row, (position, r)| {
            row.push_bind(repo.tenant.as_str())
                .push_bind(repo.alias.as_str())
                .push_bind(repo.project.as_str())
                .push_bind(repo.slug.as_str())
                .push_bind(pr_id)
                .push_bind(role)
                .push_bind(r.slug.as_str())
                .push_bind(r.name.as_str())
                .push_bind(r.email.as_deref())
                .push_bind(r.status.as_str())
                .push_bind(r.approved)
                .push_bind(*position);
        });
        // The same user twice in one role: keep the first.
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_activities(
    conn: &mut SqliteConnection,
    repo: &RepoKey,
    pr_id: i64,
    activities: &[ActivityRecord],
) -> Result<(), sqlx::Error> {
    for batch in activities.chunks(BATCH_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pr_activities (tenant, alias, project, slug, pr_id, id, action, \
             user_slug, at) ",
        );
        q.push_values(batch, |mut row, a| {
            row.push_bind(repo.tenant.as_str())
                .push_bind(repo.alias.as_str())
                .push_bind(repo.project.as_str())
                .push_bind(repo.slug.as_str())
                .push_bind(pr_id)
                .push_bind(a.id)
                .push_bind(a.action.as_str())
                .push_bind(a.user_slug.as_deref())
                .push_bind(ms(a.at));
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PrRow {
    alias: String,
    project: String,
    slug: String,
    id: i64,
    version: i64,
    title: String,
    description: Option<String>,
    state: String,
    author_slug: String,
    author_name: String,
    author_email: Option<String>,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
    from_branch: String,
    to_branch: String,
    link: Option<String>,
}

impl PrRow {
    fn into_listed(self) -> Result<ListedPullRequest, String> {
        let state = PrState::parse(&self.state).ok_or_else(|| format!("state {:?}", self.state))?;
        let pr = PullRequestRecord {
            id: self.id,
            version: self.version,
            title: self.title,
            description: self.description,
            state,
            author: PrUser {
                slug: self.author_slug,
                display_name: self.author_name,
                email: self.author_email,
            },
            created_at: at(self.created_at)?,
            updated_at: at(self.updated_at)?,
            closed_at: at_opt(self.closed_at)?,
            from_branch: self.from_branch,
            to_branch: self.to_branch,
            link: self.link,
            reviewers: Vec::new(),
            participants: Vec::new(),
        };
        Ok(ListedPullRequest {
            alias: self.alias,
            project: self.project,
            slug: self.slug,
            pr,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    alias: String,
    project: String,
    slug: String,
    pr_id: i64,
    role: String,
    user_slug: String,
    name: String,
    email: Option<String>,
    status: String,
    approved: bool,
}

/// Most recently updated first; reviewers and participants filled in with a second query.
pub(super) async fn pull_requests(
    pool: &SqlitePool,
    tenant: &str,
    filter: &PrFilter,
) -> StoreResult<Vec<ListedPullRequest>> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT pr.alias, pr.project, pr.slug, pr.id, pr.version, pr.title, pr.description, \
             pr.state, pr.author_slug, pr.author_name, pr.author_email, pr.created_at, \
             pr.updated_at, pr.closed_at, pr.from_branch, pr.to_branch, pr.link \
         FROM pull_requests pr WHERE pr.tenant = ",
    );
    q.push_bind(tenant);
    let optional = [
        (" AND pr.alias = ", filter.alias.as_deref()),
        (" AND pr.project = ", filter.project.as_deref()),
        (" AND pr.slug = ", filter.repo.as_deref()),
        (" AND pr.state = ", filter.state.map(PrState::as_str)),
        (" AND pr.author_slug = ", filter.author.as_deref()),
    ];
    for (clause, value) in optional {
        if let Some(value) = value {
            q.push(clause).push_bind(value);
        }
    }
    if let Some(reviewer) = &filter.reviewer {
        q.push(
            " AND EXISTS (SELECT 1 FROM pr_people pp WHERE pp.tenant = pr.tenant \
              AND pp.alias = pr.alias AND pp.project = pr.project AND pp.slug = pr.slug \
              AND pp.pr_id = pr.id AND pp.role = 'reviewer' AND pp.user_slug = ",
        );
        q.push_bind(reviewer.as_str()).push(")");
    }
    q.push(
        " ORDER BY pr.updated_at DESC, pr.alias DESC, pr.project DESC, pr.slug DESC, \
         pr.id DESC LIMIT ",
    );
    q.push_bind(i64::from(filter.page.limit));
    q.push(" OFFSET ").push_bind(i64::from(filter.page.offset));
    let rows: Vec<PrRow> = q
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(db("pull_requests", tenant))?;
    let mut listed = rows
        .into_iter()
        .map(|r| r.into_listed().map_err(corrupt("pull_requests", tenant)))
        .collect::<StoreResult<Vec<_>>>()?;
    fill_people(pool, tenant, &mut listed).await?;
    Ok(listed)
}

/// Pull requests per reviewer lookup: four binds each stays far below SQLite's 32,766.
const PEOPLE_LOOKUP: usize = 500;

/// Fills in reviewers and participants, in Bitbucket's order.
async fn fill_people(
    pool: &SqlitePool,
    tenant: &str,
    listed: &mut [ListedPullRequest],
) -> StoreResult<()> {
    let mut rows = Vec::new();
    for chunk in listed.chunks(PEOPLE_LOOKUP) {
        rows.extend(people_of(pool, tenant, chunk).await?);
    }
    let index: HashMap<(String, String, String, i64), usize> = listed
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                (l.alias.clone(), l.project.clone(), l.slug.clone(), l.pr.id),
                i,
            )
        })
        .collect();
    for row in rows {
        let key = (row.alias, row.project, row.slug, row.pr_id);
        let Some(l) = index.get(&key).and_then(|&i| listed.get_mut(i)) else {
            continue;
        };
        let person = ReviewerRecord {
            slug: row.user_slug,
            name: row.name,
            email: row.email,
            status: row.status,
            approved: row.approved,
        };
        match row.role.as_str() {
            REVIEWER => l.pr.reviewers.push(person),
            _ => l.pr.participants.push(person),
        }
    }
    Ok(())
}

async fn people_of(
    pool: &SqlitePool,
    tenant: &str,
    prs: &[ListedPullRequest],
) -> StoreResult<Vec<PersonRow>> {
    if prs.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT alias, project, slug, pr_id, role, user_slug, name, email, status, approved \
         FROM pr_people WHERE tenant = ",
    );
    q.push_bind(tenant);
    q.push(" AND (alias, project, slug, pr_id) IN ");
    q.push_tuples(prs, |mut t, l| {
        t.push_bind(l.alias.as_str())
            .push_bind(l.project.as_str())
            .push_bind(l.slug.as_str())
            .push_bind(l.pr.id);
    });
    q.push(" ORDER BY position");
    q.build_query_as()
        .fetch_all(pool)
        .await
        .map_err(db("pull_requests", tenant))
}

/// Oldest first.
pub(super) async fn activities(
    pool: &SqlitePool,
    repo: &RepoKey,
    pr_id: i64,
) -> StoreResult<Vec<ActivityRecord>> {
    let key = format!("{repo}#{pr_id}");
    let rows: Vec<(i64, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, action, user_slug, at FROM pr_activities \
         WHERE tenant = $1 AND alias = $2 AND project = $3 AND slug = $4 AND pr_id = $5 \
         ORDER BY at, id",
    )
    .bind(&repo.tenant)
    .bind(&repo.alias)
    .bind(&repo.project)
    .bind(&repo.slug)
    .bind(pr_id)
    .fetch_all(pool)
    .await
    .map_err(db("activities", &key))?;
    rows.into_iter()
        .map(|(id, action, user_slug, ms)| {
            let at = at(ms).map_err(corrupt("activities", &key))?;
            Ok(ActivityRecord {
                id,
                action,
                user_slug,
                at,
            })
        })
        .collect()
}
