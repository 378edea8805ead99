//! Users, groups (and their degraded state), people and the identity mapping.

use super::*;

fn user(slug: &str, email: Option<&str>) -> UserRecord {
    UserRecord {
        id: slug.len() as i64,
        slug: slug.into(),
        name: slug.into(),
        display_name: format!("User {slug}"),
        email: email.map(Into::into),
        active: true,
    }
}

fn person(email: &str, name: &str) -> PersonRecord {
    PersonRecord {
        email: email.into(),
        name: name.into(),
    }
}

#[tokio::test]
async fn identity_mapping_matches_emails_case_insensitively() {
    let store = SqliteStore::in_memory().await.unwrap();
    let main = AccountKey::new("t1", "main");
    let dc = AccountKey::new("t1", "dc");
    let users = [
        user("alice", Some("Alice.Smith@Example.COM")),
        user("bob", None),
        user("blank", Some("  ")),
        user("carol", Some("carol@example.com")),
    ];
    store.replace_users(&main, &users).await.unwrap();
    store
        .replace_users(&dc, &[user("asmith", Some("alice.smith@example.com"))])
        .await
        .unwrap();
    let people = [
        person("alice.smith@example.com", "Alice Smith"),
        person("dan@example.com", "Dan Nobody"),
    ];
    store.replace_people("t1", &people).await.unwrap();

    let mapping = store.identity_mapping("t1").await.unwrap();
    let mapped: Vec<(&str, &str, &str)> = mapping
        .mapped
        .iter()
        .map(|m| {
            (
                m.person.name.as_str(),
                m.alias.as_str(),
                m.user.slug.as_str(),
            )
        })
        .collect();
    assert_eq!(
        mapped,
        [
            ("Alice Smith", "dc", "asmith"),
            ("Alice Smith", "main", "alice")
        ]
    );
    let unmapped: Vec<(&str, UnmappedReason)> = mapping
        .unmapped_users
        .iter()
        .map(|u| (u.user.slug.as_str(), u.reason))
        .collect();
    assert_eq!(
        unmapped,
        [
            ("blank", UnmappedReason::NoEmail),
            ("bob", UnmappedReason::NoEmail),
            ("carol", UnmappedReason::NoPerson),
        ]
    );
    assert_eq!(
        mapping.unmapped_people,
        [person("dan@example.com", "Dan Nobody")]
    );
}

#[tokio::test]
async fn replacing_users_and_people_drops_the_old_ones() {
    let store = SqliteStore::in_memory().await.unwrap();
    let main = account("t1");
    store
        .replace_users(&main, &[user("a", None), user("b", None)])
        .await
        .unwrap();
    store
        .replace_users(&main, &[user("b", Some("b@x.io"))])
        .await
        .unwrap();
    let users = store.users("t1", None).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].1.email.as_deref(), Some("b@x.io"));
    assert!(store.users("t1", Some("other")).await.unwrap().is_empty());

    // One entry per case-insensitive email; the later one wins.
    let people = [
        person("P@x.io", "First"),
        person("p@X.io", "Second"),
        person("q@x.io", "Q"),
    ];
    store.replace_people("t1", &people).await.unwrap();
    store.replace_people("t1", &people[..2]).await.unwrap();
    let mapping = store.identity_mapping("t1").await.unwrap();
    assert_eq!(mapping.unmapped_people, [person("p@X.io", "Second")]);
}

#[tokio::test]
async fn groups_keep_their_members_and_a_degraded_state_keeps_the_last_groups() {
    let store = SqliteStore::in_memory().await.unwrap();
    let main = account("t1");
    let groups = [
        GroupRecord {
            name: "devs".into(),
            members: vec!["bob".into(), "alice".into()],
        },
        GroupRecord {
            name: "admins".into(),
            members: vec![],
        },
    ];
    store
        .replace_groups(&main, Some(&groups), None)
        .await
        .unwrap();
    assert_eq!(store.groups_state(&main).await.unwrap(), None);

    let reason = "groups unavailable: no admin access";
    store
        .replace_groups(&main, None, Some(reason))
        .await
        .unwrap();
    assert_eq!(
        store.groups_state(&main).await.unwrap().as_deref(),
        Some(reason)
    );
    let stored = store.groups("t1", Some("main")).await.unwrap();
    let names: Vec<(&str, &[String])> = stored
        .iter()
        .map(|(_, g)| (g.name.as_str(), g.members.as_slice()))
        .collect();
    assert_eq!(names[0], ("admins", &[][..]));
    assert_eq!(
        names[1],
        ("devs", &["alice".to_owned(), "bob".to_owned()][..])
    );

    // Admin access back: groups replaced, degraded state cleared.
    let groups = [GroupRecord {
        name: "devs".into(),
        members: vec!["carol".into()],
    }];
    store
        .replace_groups(&main, Some(&groups), None)
        .await
        .unwrap();
    assert_eq!(store.groups_state(&main).await.unwrap(), None);
    let stored = store.groups("t1", None).await.unwrap();
    assert_eq!(stored, [("main".to_owned(), groups[0].clone())]);
    let counts = store.counts("t1").await.unwrap();
    assert_eq!((counts.groups, counts.group_members), (1, 1));
}
