//! Users and groups: the documented accounts, generated people, bots and their groups.

use std::collections::HashSet;

use super::words::{FIRST_NAMES, LAST_NAMES, TEAMS};
use crate::credentials::{ADMIN_PASSWORD, ADMIN_USER, NORMAL_PASSWORD, NORMAL_USER};
use crate::model::{GENERATED_UNTIL_MS, Group, User};
use crate::seed::SimRng;

const DOMAIN: &str = "acme.example";

/// Generates the user list: `admin`, `alice`, then `count` generated accounts.
///
/// Quirks real directories have and clients must survive: a few pairs of users share an email
/// address differing only in case, a few users have no email, some accounts are inactive, and a
/// couple are SERVICE accounts (bots).
pub fn users(seed: u64, count: usize) -> Vec<User> {
    let mut out = vec![
        fixed(1, ADMIN_USER, "Ada Admin", ADMIN_PASSWORD, true),
        fixed(2, NORMAL_USER, "Alice Liddell", NORMAL_PASSWORD, false),
    ];
    let mut taken: HashSet<String> = out.iter().map(|u| u.name.clone()).collect();
    let mut rng = SimRng::derived(seed, "users", 0);
    for i in 0..count {
        let id = out.len() as u32 + 1;
        let first = rng.word(FIRST_NAMES);
        let last = rng.word(LAST_NAMES);
        let base = username(first, last);
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        let email = match i % 17 {
            // Every 17th user has no email at all.
            5 => None,
            // Every 17th shares the previous user's address with different case.
            11 => out
                .last()
                .and_then(|prev: &User| prev.email.as_ref())
                .map(|e| swap_case_first(e)),
            _ => Some(format!("{}.{}@{DOMAIN}", ascii(first), ascii(last)).to_lowercase()),
        };
        out.push(User {
            id,
            slug: name.clone(),
            password: Some(format!("{name}-secret")),
            display_name: format!("{first} {last}"),
            email,
            active: !rng.chance(0.04),
            service: false,
            admin: false,
            name,
            directory: if rng.chance(0.7) {
                "Acme LDAP"
            } else {
                "Bitbucket Internal Directory"
            },
            last_authentication_ms: last_auth(&mut rng),
        });
    }
    for bot in ["jenkins", "renovate-bot"] {
        let id = out.len() as u32 + 1;
        out.push(User {
            id,
            name: bot.to_owned(),
            slug: bot.to_owned(),
            display_name: bot.to_owned(),
            email: Some(format!("{bot}@{DOMAIN}")),
            active: true,
            service: true,
            admin: false,
            password: Some(format!("{bot}-secret")),
            directory: "Bitbucket Internal Directory",
            last_authentication_ms: Some(GENERATED_UNTIL_MS - 60_000),
        });
    }
    out
}

fn fixed(id: u32, name: &str, display: &str, password: &str, admin: bool) -> User {
    User {
        id,
        name: name.to_owned(),
        slug: name.to_owned(),
        display_name: display.to_owned(),
        email: Some(format!("{name}@{DOMAIN}")),
        active: true,
        service: false,
        admin,
        password: Some(password.to_owned()),
        directory: "Bitbucket Internal Directory",
        last_authentication_ms: Some(GENERATED_UNTIL_MS - 3_600_000),
    }
}

fn last_auth(rng: &mut SimRng) -> Option<i64> {
    if rng.chance(0.1) {
        None
    } else {
        Some(GENERATED_UNTIL_MS - rng.below(90 * 24 * 3_600_000) as i64)
    }
}

fn username(first: &str, last: &str) -> String {
    let f = ascii(first).chars().next().unwrap_or('x');
    format!("{f}{}", ascii(last)).to_lowercase()
}

/// Folds the few non-ASCII letters in the name lists and drops punctuation.
fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'ü' => Some('u'),
            'ö' => Some('o'),
            c if c.is_ascii_alphabetic() => Some(c),
            _ => None,
        })
        .collect()
}

fn swap_case_first(email: &str) -> String {
    let mut chars = email.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Generates `count` groups. `alice` is in exactly one team group, which is how she gets her
/// partial project access; `admin` is in `bitbucket-admins`.
pub fn groups(seed: u64, count: usize, users: &[User]) -> Vec<Group> {
    let mut rng = SimRng::derived(seed, "groups", 0);
    let mut out = vec![Group {
        name: "bitbucket-admins".to_owned(),
        members: vec![1],
    }];
    let generated: Vec<u32> = users.iter().filter(|u| u.id > 2).map(|u| u.id).collect();
    for i in 0..count.saturating_sub(1) {
        let team = TEAMS.get(i % TEAMS.len()).copied().unwrap_or("team");
        let name = if i < TEAMS.len() {
            format!("{team}-team")
        } else {
            format!("{team}-team-{}", i / TEAMS.len() + 1)
        };
        let size = rng.between(2, 12).min(generated.len() as u64) as usize;
        let mut members: Vec<u32> = (0..size)
            .filter_map(|_| rng.pick(&generated).copied())
            .collect();
        if i == 0 {
            members.push(2);
        }
        members.sort_unstable();
        members.dedup();
        out.push(Group { name, members });
    }
    out
}
