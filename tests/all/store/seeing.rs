//! What people see: visibility, listings with their filters and cursor,
//! comments, the notifications inbox.

use baton_host::model::{Actor, Status};
use baton_host::store::{
    Commit, NewComment, NewNotification, NewStakeholder, Principal, TicketFilter, Viewer,
};

use super::{Db, create_with, new_ticket, step};

both!(
    people_see_the_tickets_they_or_their_groups_are_involved_in,
    listings_filter_and_page_newest_first,
    listings_search_titles_and_find_what_waits_for_someone,
    children_are_listed_as_their_reader_may_see_them,
    counts_per_state_follow_the_filter_and_what_the_viewer_sees,
    comments_come_back_in_order,
    the_inbox_shows_unread_first_and_pages,
);

fn user(id: i64) -> NewStakeholder {
    NewStakeholder {
        principal: Principal::User(id),
        connection: "assigned",
        role: "actioner",
    }
}

fn group(name: &str) -> NewStakeholder {
    NewStakeholder {
        principal: Principal::Group(name.into()),
        connection: "cc",
        role: "actioner",
    }
}

/// A ticket of `ticket_type` created by `by` at `at`, with stakeholders.
async fn ticket(db: &Db, ticket_type: &str, by: Actor, at: i64, with: Vec<NewStakeholder>) -> i64 {
    let id = db.next_ticket_id().await.expect("id");
    let mut t = new_ticket(id);
    t.ticket_type = ticket_type.into();
    t.created_by = by;
    t.stakeholders = with;
    let commit = Commit {
        inserts: vec![t],
        ..Commit::default()
    };
    db.commit(&commit, at).await.expect("commit");
    id
}

async fn people_see_the_tickets_they_or_their_groups_are_involved_in(db: Db) {
    let ann = db.person("ann", false).await;
    let bob = db.person("bob", false).await;
    let eve = db.person("eve", false).await;
    let crew = db.create_group("crew", 0).await.expect("group");
    db.set_member(crew.id, bob.id, true).await.expect("member");
    let mine = ticket(&db, "order", Actor::User(ann.id), 10, vec![user(ann.id)]).await;
    let crews = ticket(&db, "order", Actor::Host, 20, vec![group("crew")]).await;
    let nobodys = ticket(&db, "order", Actor::User(eve.id), 30, vec![]).await;

    for (viewer, sees) in [
        (Viewer::Admin, vec![mine, crews, nobodys]),
        (Viewer::User(ann.id), vec![mine]),
        (Viewer::User(bob.id), vec![crews]),
        // A ticket one created but is no stakeholder of is not visible.
        (Viewer::User(eve.id), vec![]),
    ] {
        for t in [mine, crews, nobodys] {
            let can = db.can_see(viewer, t).await.expect("can_see");
            assert_eq!(can, sees.contains(&t), "{viewer:?} and ticket {t}");
        }
        let filter = TicketFilter {
            limit: 10,
            ..TicketFilter::default()
        };
        let listed: Vec<i64> = db
            .list_tickets(viewer, &filter)
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.id)
            .collect();
        let mut expected = sees.clone();
        expected.reverse();
        assert_eq!(listed, expected, "{viewer:?}");
    }
    assert!(!db.can_see(Viewer::Admin, 999).await.expect("can_see"));
    // Leaving the group hides its tickets.
    db.set_member(crew.id, bob.id, false).await.expect("leave");
    assert!(
        !db.can_see(Viewer::User(bob.id), crews)
            .await
            .expect("can_see")
    );
    // Involvement per metaservice.
    assert!(db.involved_in(ann.id, "shop").await.expect("involved"));
    assert!(!db.involved_in(ann.id, "other").await.expect("involved"));
    assert!(!db.involved_in(eve.id, "shop").await.expect("involved"));
    let of = db
        .stakeholders_of(&[mine, crews, nobodys])
        .await
        .expect("of");
    assert_eq!(of.keys().copied().collect::<Vec<_>>(), vec![mine, crews]);
    assert_eq!(of[&crews][0].group.as_deref(), Some("crew"));
}

/// The ids a listing gives.
/// A ticket titled `title`, with stakeholders.
async fn titled(db: &Db, title: &str, with: Vec<NewStakeholder>) -> i64 {
    let id = db.next_ticket_id().await.expect("id");
    let mut t = new_ticket(id);
    t.title = title.into();
    t.stakeholders = with;
    let commit = Commit {
        inserts: vec![t],
        ..Commit::default()
    };
    db.commit(&commit, 10).await.expect("commit");
    id
}

async fn listings_search_titles_and_find_what_waits_for_someone(db: Db) {
    let ann = db.person("ann", false).await;
    let bob = db.person("bob", false).await;
    let crew = db.create_group("crew", 0).await.expect("group");
    db.set_member(crew.id, bob.id, true).await.expect("member");
    let assigned_crew = || NewStakeholder {
        principal: Principal::Group("crew".into()),
        connection: "assigned",
        role: "actioner",
    };
    // Assigned to bob's group, nobody took it: waits for bob.
    let unclaimed = titled(&db, "Fix the Results", vec![assigned_crew()]).await;
    // Assigned to bob himself: waits for him.
    let his = titled(&db, "Refund", vec![user(bob.id)]).await;
    // His group's, but ann took it: not waiting for bob.
    let taken = titled(&db, "fix a typo", vec![assigned_crew(), user(ann.id)]).await;
    // Assigned to him but closed: not waiting.
    let done = titled(&db, "Old FIX", vec![user(bob.id)]).await;
    db.commit(&step(done, 1, "Old FIX"), 20)
        .await
        .expect("close");
    // Copied to the group only.
    let copied = titled(&db, "Copy", vec![group("crew")]).await;

    let all = |f: TicketFilter| TicketFilter { limit: 10, ..f };
    let search = all(TicketFilter {
        title_contains: Some("fix".into()),
        ..Default::default()
    });
    assert_eq!(
        ids(&db, Viewer::Admin, search.clone()).await,
        vec![done, taken, unclaimed]
    );
    // Search stays within what the viewer sees.
    assert_eq!(ids(&db, Viewer::User(ann.id), search).await, vec![taken]);
    // Wildcards are text, not patterns.
    let percent = all(TicketFilter {
        title_contains: Some("%".into()),
        ..Default::default()
    });
    assert!(ids(&db, Viewer::Admin, percent).await.is_empty());

    let waiting = all(TicketFilter {
        waiting_for: Some(bob.id),
        ..Default::default()
    });
    assert_eq!(
        ids(&db, Viewer::User(bob.id), waiting.clone()).await,
        vec![his, unclaimed]
    );
    assert_eq!(ids(&db, Viewer::Admin, waiting).await, vec![his, unclaimed]);
    let ann_waits = all(TicketFilter {
        waiting_for: Some(ann.id),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::User(ann.id), ann_waits).await, vec![taken]);

    let groups = all(TicketFilter {
        my_groups: Some(bob.id),
        ..Default::default()
    });
    assert_eq!(
        ids(&db, Viewer::User(bob.id), groups).await,
        vec![copied, taken, unclaimed]
    );
    let none = all(TicketFilter {
        my_groups: Some(ann.id),
        ..Default::default()
    });
    assert!(ids(&db, Viewer::User(ann.id), none).await.is_empty());
}

async fn children_are_listed_as_their_reader_may_see_them(db: Db) {
    let ann = db.person("ann", false).await;
    let parent = titled(&db, "parent", vec![user(ann.id)]).await;
    let child = |with: Vec<NewStakeholder>| {
        let db = &db;
        async move {
            let id = db.next_ticket_id().await.expect("id");
            let mut t = new_ticket(id);
            t.parent_id = Some(parent);
            t.stakeholders = with;
            let commit = Commit {
                inserts: vec![t],
                ..Commit::default()
            };
            db.commit(&commit, 20).await.expect("commit");
            id
        }
    };
    let hers = child(vec![user(ann.id)]).await;
    let hidden = child(vec![]).await;
    let unrelated = titled(&db, "other", vec![user(ann.id)]).await;
    let of = |viewer| {
        let db = &db;
        async move {
            db.children(viewer, parent, 10)
                .await
                .expect("children")
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(of(Viewer::Admin).await, vec![hers, hidden]);
    assert_eq!(of(Viewer::User(ann.id)).await, vec![hers]);
    assert!(
        db.children(Viewer::Admin, unrelated, 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        db.children(Viewer::Admin, parent, 1)
            .await
            .expect("one")
            .len(),
        1
    );
}

async fn counts_per_state_follow_the_filter_and_what_the_viewer_sees(db: Db) {
    let ann = db.person("ann", false).await;
    let mut hers = Vec::new();
    for title in ["fix one", "fix two", "other"] {
        hers.push(titled(&db, title, vec![user(ann.id)]).await);
    }
    titled(&db, "fix hidden", vec![]).await;
    db.commit(&step(hers[1], 1, "fix two"), 20)
        .await
        .expect("move");
    let counts = |viewer, f: TicketFilter| {
        let db = &db;
        async move {
            db.count_tickets(viewer, &f)
                .await
                .expect("counts")
                .into_iter()
                .map(|c| (c.state_code, c.count))
                .collect::<Vec<_>>()
        }
    };
    let all = |f: TicketFilter| TicketFilter { limit: 100, ..f };
    assert_eq!(
        counts(Viewer::Admin, all(TicketFilter::default())).await,
        vec![(1, 3), (2, 1)]
    );
    assert_eq!(
        counts(Viewer::User(ann.id), all(TicketFilter::default())).await,
        vec![(1, 2), (2, 1)]
    );
    let fix = all(TicketFilter {
        title_contains: Some("fix".into()),
        ..Default::default()
    });
    assert_eq!(
        counts(Viewer::User(ann.id), fix.clone()).await,
        vec![(1, 1), (2, 1)]
    );
    // The cursor does not narrow the counts; the limit bounds them.
    let paged = TicketFilter {
        before: Some(hers[0]),
        ..fix
    };
    assert_eq!(
        counts(Viewer::User(ann.id), paged).await,
        vec![(1, 1), (2, 1)]
    );
    let capped = TicketFilter {
        limit: 2,
        ..Default::default()
    };
    let total: i64 = db
        .count_tickets(Viewer::Admin, &capped)
        .await
        .expect("counts")
        .iter()
        .map(|c| c.count)
        .sum();
    assert_eq!(total, 2);
}

async fn ids(db: &Db, viewer: Viewer, filter: TicketFilter) -> Vec<i64> {
    db.list_tickets(viewer, &filter)
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.id)
        .collect()
}

async fn listings_filter_and_page_newest_first(db: Db) {
    let ann = db.person("ann", false).await;
    let bob = db.person("bob", false).await;
    let crew = db.create_group("crew", 0).await.expect("group");
    db.set_member(crew.id, ann.id, true).await.expect("member");
    let a = ticket(&db, "order", Actor::User(ann.id), 10, vec![user(ann.id)]).await;
    let b = ticket(
        &db,
        "refund",
        Actor::User(bob.id),
        20,
        vec![user(ann.id), user(bob.id)],
    )
    .await;
    let c = ticket(&db, "order", Actor::Host, 30, vec![group("crew")]).await;
    let d = ticket(&db, "order", Actor::User(bob.id), 40, vec![user(bob.id)]).await;
    db.commit(&step(a, 1, "shipped"), 50).await.expect("close");
    let all = |f: TicketFilter| TicketFilter { limit: 10, ..f };

    let by_type = all(TicketFilter {
        ticket_type: Some("order".into()),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, by_type).await, vec![d, c, a]);
    let closed = all(TicketFilter {
        status: Some(Status::Closed),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, closed).await, vec![a]);
    let open_in_1 = all(TicketFilter {
        metaservice: Some("shop".into()),
        state: Some(1),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, open_in_1).await, vec![d, c, b]);
    let window = all(TicketFilter {
        created_after: Some(20),
        created_before: Some(40),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, window).await, vec![c, b]);
    let of_bob = all(TicketFilter {
        stakeholder_user: Some(bob.id),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, of_bob).await, vec![d, b]);
    let of_crew = all(TicketFilter {
        stakeholder_group: Some("crew".into()),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, of_crew).await, vec![c]);
    // "mine": created by, or a stakeholder directly or through a group.
    let ann_mine = all(TicketFilter {
        mine: Some(ann.id),
        ..Default::default()
    });
    assert_eq!(
        ids(&db, Viewer::User(ann.id), ann_mine.clone()).await,
        vec![c, b, a]
    );
    assert_eq!(ids(&db, Viewer::Admin, ann_mine).await, vec![c, b, a]);
    let bob_mine = all(TicketFilter {
        mine: Some(bob.id),
        ..Default::default()
    });
    assert_eq!(ids(&db, Viewer::Admin, bob_mine.clone()).await, vec![d, b]);
    // A user's "mine" is theirs only: nobody else's tickets through it.
    let ann_for_bob = all(TicketFilter {
        mine: Some(ann.id),
        ..Default::default()
    });
    assert!(ids(&db, Viewer::User(bob.id), ann_for_bob).await.is_empty());

    // Pages of two, by the cursor.
    let page = |before| TicketFilter {
        before,
        limit: 2,
        ..Default::default()
    };
    let first = ids(&db, Viewer::Admin, page(None)).await;
    assert_eq!(first, vec![d, c]);
    let second = ids(&db, Viewer::Admin, page(first.last().copied())).await;
    assert_eq!(second, vec![b, a]);
    assert!(ids(&db, Viewer::Admin, page(Some(a))).await.is_empty());
    let listed = db
        .list_tickets(Viewer::Admin, &page(None))
        .await
        .expect("list");
    assert_eq!(
        (listed[0].created_by.clone(), listed[0].created_at),
        (Actor::User(bob.id), 40)
    );
}

async fn comments_come_back_in_order(db: Db) {
    let ann = db.person("ann", false).await;
    let id = db.next_ticket_id().await.expect("id");
    let mut t = new_ticket(id);
    t.stakeholders = vec![user(ann.id)];
    create_with(&*db, t, vec![]).await;
    let acting = db.stakeholders(id).await.expect("stakeholders")[0].id;
    for (n, body) in ["first", "second", "third"].into_iter().enumerate() {
        let comment = Commit {
            comments: vec![NewComment {
                ticket_id: id,
                body: body.into(),
                acting_user_id: ann.id,
                acting_stakeholder_id: (n == 1).then_some(acting),
                event_for_state: None,
            }],
            ..Commit::default()
        };
        db.commit(&comment, 100 + n as i64).await.expect("comment");
    }
    let got = db.comments(id).await.expect("comments");
    assert_eq!(
        got.iter()
            .map(|c| (c.body.as_str(), c.acting_stakeholder_id, c.created_at))
            .collect::<Vec<_>>(),
        vec![
            ("first", None, 100),
            ("second", Some(acting), 101),
            ("third", None, 102)
        ]
    );
    assert!(db.events_of(id).await.expect("events").is_empty());
    assert!(db.comments(id + 1).await.expect("comments").is_empty());
}

fn note(user_id: i64, ticket_id: Option<i64>, text: &str) -> NewNotification {
    NewNotification {
        user_id,
        ticket_id,
        kind: "note",
        text: text.into(),
    }
}

async fn the_inbox_shows_unread_first_and_pages(db: Db) {
    let ann = db.person("ann", false).await;
    let bob = db.person("bob", false).await;
    let root = db.person("root", true).await;
    let hers = ticket(&db, "order", Actor::Host, 10, vec![user(ann.id)]).await;
    let hidden = ticket(&db, "order", Actor::Host, 10, vec![]).await;
    let commit = Commit {
        notifications: vec![
            note(ann.id, None, "n1"),
            note(ann.id, Some(hers), "n2"),
            note(ann.id, Some(hidden), "hidden from ann"),
            note(ann.id, None, "n3"),
            note(bob.id, None, "bob's"),
            note(root.id, Some(hidden), "root sees all"),
        ],
        ..Commit::default()
    };
    let sent = db.commit(&commit, 100).await.expect("notify").notifications;
    let id = |text: &str| sent.iter().find(|n| n.text == text).expect("sent").id;

    assert!(db.mark_read(ann.id, id("n1"), 200).await.expect("read"));
    assert!(db.mark_read(ann.id, id("n1"), 300).await.expect("again"));
    assert!(
        !db.mark_read(bob.id, id("n2"), 300)
            .await
            .expect("not bob's")
    );
    let texts = |list: Vec<baton_host::store::Notification>| {
        list.into_iter()
            .map(|n| (n.text, n.read_at))
            .collect::<Vec<_>>()
    };
    let inbox = db.notifications(ann.id, None, 10).await.expect("inbox");
    assert_eq!(
        texts(inbox),
        vec![
            ("n3".to_string(), None),
            ("n2".to_string(), None),
            ("n1".to_string(), Some(200))
        ],
        "unread first, newest first; the first read time stays"
    );
    // Pages of one, by the cursor (read, id) of the last row seen.
    let first = db.notifications(ann.id, None, 1).await.expect("page");
    let cursor = |n: &baton_host::store::Notification| Some((n.read_at.is_some(), n.id));
    let second = db
        .notifications(ann.id, cursor(&first[0]), 1)
        .await
        .expect("page");
    let third = db
        .notifications(ann.id, cursor(&second[0]), 1)
        .await
        .expect("page");
    let fourth = db
        .notifications(ann.id, cursor(&third[0]), 1)
        .await
        .expect("page");
    assert_eq!(
        [&first[0].text, &second[0].text, &third[0].text],
        ["n3", "n2", "n1"]
    );
    assert!(fourth.is_empty());
    let root_inbox = db.notifications(root.id, None, 10).await.expect("inbox");
    assert_eq!(texts(root_inbox), vec![("root sees all".to_string(), None)]);
}
