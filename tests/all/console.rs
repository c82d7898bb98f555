//! The staff console in a real browser (headless Chromium over WebDriver)
//! against a real `baton serve` with the example bots, and its
//! permissions over plain HTTP: every page for every role without a 500,
//! a stranger sees nothing of another's ticket, a form without its CSRF
//! token is refused.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::{Person, Server, copy_dir, example_bots};

pub const PASSWORD: &str = "correct horse battery";

/// The example server with a requester, two WRT members and a stranger,
/// each with a console password, and the requester's ticket in review.
pub struct World {
    pub server: Server,
    pub requester: Person,
    /// A WRT member with no console password (acts through the API).
    pub colleague: Person,
    pub ticket: i64,
}

pub async fn world() -> World {
    let server = Server::start(|bots| copy_dir(&example_bots(), bots)).await;
    let requester = server.person("requester").await;
    let member = server.person("member").await;
    let colleague = server.person("colleague").await;
    server.person("stranger").await;
    server.group("wrt", &[&member, &colleague]).await;
    for login in ["requester", "member", "stranger", "admin"] {
        let out =
            server.baton_with_input(&["admin", "set-password", login], &format!("{PASSWORD}\n"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ticket = server.ticket_for_wrt(&requester).await;
    let ticket = ticket["id"].as_i64().expect("an id");
    World {
        server,
        requester,
        colleague,
        ticket,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_sees_their_ticket_with_an_empty_playground() {
    let w = world().await;
    let browser = Browser::start().await;
    browser.sign_in(&w.server.base, "requester", PASSWORD).await;
    let list = browser.text().await;
    assert!(list.contains("My birthday"), "{list}");
    browser.screenshot("tickets").await;
    browser
        .goto(&format!("{}/console/tickets/{}", w.server.base, w.ticket))
        .await;
    let page = browser.text().await;
    assert!(page.contains("in_review"), "{page}");
    assert!(
        page.contains("a member of group wrt to accept it"),
        "{page}"
    );
    assert!(
        page.contains("dob"),
        "the requested change is shown: {page}"
    );
    assert!(browser.has("#no-actions").await, "{page}");
    assert!(!browser.has("#accept").await, "a requester does not accept");
    assert!(
        !browser.has("form.action").await,
        "no action for the requester"
    );
    assert!(
        browser.has(".diagram svg .current").await,
        "the diagram marks the state"
    );
    browser.screenshot("ticket-requester").await;
    // On a phone: one column, nothing wider than the screen.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("a phone-sized window");
    for path in [format!("/console/tickets/{}", w.ticket), "/console/".into()] {
        browser.goto(&format!("{}{path}", w.server.base)).await;
        let overflow = browser
            .eval("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        assert!(
            overflow.as_i64().is_some_and(|px| px <= 0),
            "{path}: {overflow} px too wide"
        );
    }
    browser.screenshot("tickets-phone").await;
    browser
        .goto(&format!("{}/console/tickets/{}", w.server.base, w.ticket))
        .await;
    browser.screenshot("ticket-phone").await;
    let _ = w.requester;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrt_member_accepts_comments_and_approves() {
    let w = world().await;
    let browser = Browser::start().await;
    browser.sign_in(&w.server.base, "member", PASSWORD).await;
    browser
        .goto(&format!("{}/console/tickets/{}", w.server.base, w.ticket))
        .await;
    browser.screenshot("ticket-member-before").await;
    browser.click("#accept").await;
    browser.until_text("member accepted the ticket").await;
    assert!(browser.has("form.action[data-action=approve]").await);
    browser
        .fill(
            "#comment textarea[name=body]",
            "The certificate shows the 2nd.",
        )
        .await;
    browser.click("#comment button[type=submit]").await;
    browser.until_text("The certificate shows the 2nd.").await;
    browser
        .click("form.action[data-action=approve] button[type=submit]")
        .await;
    // The bot runs the action: the timeline shows the move. Waited for in
    // the timeline, not the header: the page reads the log before the
    // ticket (`console/ticket.rs`), so a page can show the header closed
    // with the log read just before the move, never the other way round.
    browser.until_text("in_review → approved").await;
    let page = browser.text().await;
    assert!(page.contains("in_review → approved"), "{page}");
    assert!(page.contains("member pressed \"approve\""), "{page}");
    assert!(page.contains("· closed ·"), "{page}");
    assert!(
        !browser.has("#comment").await,
        "a closed ticket takes no comment"
    );
    browser.screenshot("ticket-member-after").await;
    // The API agrees.
    let (_, ticket) = w.server.get(&format!("/api/v1/tickets/{}", w.ticket)).await;
    assert_eq!(ticket["state"]["name"], "approved", "{ticket}");
}

/// Posts the sign-in form as a browser does: the form first (its token
/// and cookie), then the credentials with them. The answer.
pub async fn sign_in(server: &Server, login: &str, password: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let form = client
        .get(format!("{}/console/sign-in", server.base))
        .send()
        .await
        .expect("the sign-in page");
    let cookie = form.headers()[SET_COOKIE]
        .to_str()
        .expect("the form's cookie")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let csrf = csrf_in(&form.text().await.unwrap_or_default());
    client
        .post(format!("{}/console/sign-in", server.base))
        .header(COOKIE, cookie)
        .form(&[
            ("login", login),
            ("password", password),
            ("next", "/console/"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .expect("signing in")
}

/// Signs in over plain HTTP; the session cookie.
pub async fn session(server: &Server, login: &str) -> String {
    let response = sign_in(server, login, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{login}");
    let cookie = response.headers()[SET_COOKIE].to_str().expect("a cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().expect("name=value").to_string()
}

pub async fn get(server: &Server, cookie: Option<&str>, path: &str) -> (StatusCode, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut request = client.get(format!("{}{path}", server.base));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.expect("a page");
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        format!("{location}{}", response.text().await.unwrap_or_default()),
    )
}

#[tokio::test]
async fn strangers_see_nothing_and_forms_need_their_csrf_token() {
    let w = world().await;
    let server = &w.server;
    let page = format!("/console/tickets/{}", w.ticket);
    // Every page, for every role, without a 500.
    let pages = [
        "/console/",
        "/console/?status=all&mine=on",
        &page,
        "/console/tickets/999999",
        "/console/nowhere",
        "/console/sign-in",
        "/console/inbox",
        "/console/bots",
        "/console/errors",
        "/console/account",
        "/console/admin",
        "/console/admin/people",
        "/console/admin/people/2",
        "/console/admin/people/999999",
        "/console/admin/people/nobody",
        "/console/?q=birth&groups=on&waiting=on",
        "/console/?state=abc&before=zz&status=what",
    ];
    let mut cookies = vec![None];
    // Roles: nobody, the requester, a WRT member, a stranger, an admin
    // (the admin last: index 4).
    for login in ["requester", "member", "stranger", "admin"] {
        cookies.push(Some(session(server, login).await));
    }
    for cookie in &cookies {
        for path in pages {
            let (status, body) = get(server, cookie.as_deref(), path).await;
            assert!(
                status.as_u16() < 500,
                "{path} as {cookie:?}: {status}\n{body}"
            );
        }
    }
    // Without a session: to the sign-in page.
    let (status, body) = get(server, None, &page).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(body.starts_with("/console/sign-in?next="), "{body}");
    // The stranger: the ticket is as absent as one that does not exist,
    // and not in their list.
    let stranger = cookies[3].as_deref();
    let (status, body) = get(server, stranger, &page).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.contains("My birthday"));
    let (_, list) = get(server, stranger, "/console/?status=all").await;
    assert!(!list.contains("My birthday"), "{list}");
    // A comment without its CSRF token, or with another session's, is
    // refused and nothing is written.
    let member = cookies[2].as_deref().expect("the member's session");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    for form in [
        vec![("body", "sneaky")],
        vec![("body", "sneaky"), ("csrf", "0000")],
    ] {
        let response = client
            .post(format!("{}{page}/comments", server.base))
            .header(COOKIE, member)
            .form(&form)
            .send()
            .await
            .expect("posting");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let (_, comments) = server
        .get(&format!("/api/v1/tickets/{}/comments", w.ticket))
        .await;
    let bodies: Vec<&Value> = comments["items"].as_array().into_iter().flatten().collect();
    assert!(bodies.iter().all(|c| c["body"] != "sneaky"), "{comments}");
    // A sign-in posted from elsewhere (no form token, or no cookie) is
    // refused; wrong passwords are refused, then rate-limited.
    let forged = client
        .post(format!("{}/console/sign-in", server.base))
        .form(&[
            ("login", "member"),
            ("password", PASSWORD),
            ("csrf", "0000"),
        ])
        .send()
        .await
        .expect("posting")
        .status();
    assert_eq!(forged, StatusCode::FORBIDDEN);
    let bad =
        |password: &'static str| async move { sign_in(server, "member", password).await.status() };
    for _ in 0..5 {
        assert_eq!(bad("wrong password").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(bad(PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
}

/// The CSRF token in a page's forms.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("its value").to_string()
}

#[tokio::test]
async fn people_change_their_own_password_and_their_sessions_end() {
    let w = world().await;
    let server = &w.server;
    let old = session(server, "member").await;
    let (status, page) = get(server, Some(&old), "/console/account").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&page);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let post = |form: Vec<(&'static str, String)>| {
        let request = client
            .post(format!("{}/console/account", server.base))
            .header(COOKIE, old.clone())
            .form(&form);
        async move { request.send().await.expect("posting") }
    };
    let new = "a brand new passphrase";
    let wrong = post(vec![
        ("csrf", csrf.clone()),
        ("current", "not it at all".into()),
        ("new", new.into()),
        ("again", new.into()),
    ])
    .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let short = post(vec![
        ("csrf", csrf.clone()),
        ("current", PASSWORD.into()),
        ("new", "short".into()),
        ("again", "short".into()),
    ])
    .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = post(vec![
        ("csrf", csrf),
        ("current", PASSWORD.into()),
        ("new", new.into()),
        ("again", new.into()),
    ])
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let fresh = done.headers()[SET_COOKIE]
        .to_str()
        .expect("a new session")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    assert!(
        done.text()
            .await
            .unwrap_or_default()
            .contains("Your password is changed")
    );
    // The old session is over; the new one (this browser's) works.
    let (status, _) = get(server, Some(&old), "/console/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = get(server, Some(&fresh), "/console/").await;
    assert_eq!(status, StatusCode::OK);
    // The old password no longer signs in; the new one does.
    assert_eq!(
        sign_in(server, "member", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(server, "member", new).await.status(),
        StatusCode::SEE_OTHER
    );
}

/// Posts a console form with `cookie`; the status.
async fn post_form(server: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
        .post(format!("{}{path}", server.base))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .expect("posting")
        .status()
}

#[tokio::test]
async fn the_inbox_marks_read_and_only_admins_restart_bots() {
    let w = world().await;
    let server = &w.server;
    let member = session(server, "member").await;
    // The acceptance request is in the member's inbox, unread.
    let (status, inbox) = get(server, Some(&member), "/console/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        inbox.contains(&format!("/console/tickets/{}", w.ticket)),
        "{inbox}"
    );
    assert!(inbox.contains("Mark read"), "{inbox}");
    let at = inbox.find("/console/inbox/").expect("a mark-read form") + 15;
    let id: String = inbox[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let csrf = csrf_in(&inbox);
    let path = format!("/console/inbox/{id}/read");
    assert_eq!(
        post_form(server, &member, &path, &[]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_form(server, &member, &path, &[("csrf", &csrf)]).await,
        StatusCode::SEE_OTHER
    );
    let (_, inbox) = get(server, Some(&member), "/console/inbox").await;
    assert!(!inbox.contains(&path), "marked read: {inbox}");

    // The bots page: every bot with its status; only an admin restarts.
    let bot = "wca-edit_person-1-open";
    let (status, bots) = get(server, Some(&member), "/console/bots").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bots.contains(bot) && bots.contains("running"), "{bots}");
    assert!(
        !bots.contains("/restart\""),
        "no restart form for a member: {bots}"
    );
    let restart = format!("/console/bots/{bot}/restart");
    let member_csrf = csrf_in(&bots);
    assert_eq!(
        post_form(server, &member, &restart, &[("csrf", &member_csrf)]).await,
        StatusCode::FORBIDDEN
    );
    let admin = session(server, "admin").await;
    let (_, bots) = get(server, Some(&admin), "/console/bots").await;
    assert!(bots.contains(&format!("{restart}\"")), "{bots}");
    let before = server.bot(bot).await["restarts"].as_u64().unwrap_or(0);
    let admin_csrf = csrf_in(&bots);
    assert_eq!(
        post_form(server, &admin, &restart, &[("csrf", &admin_csrf)]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(server.bot(bot).await["restarts"].as_u64(), Some(before + 1));
}

#[tokio::test]
async fn the_errors_page_shows_parked_events_and_retries_them() {
    let server = crate::support::hostile::hostile().await;
    let out = server.baton_with_input(
        &["admin", "set-password", "admin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failing = server
        .create("fixture", "doomed", serde_json::json!({}))
        .await;
    server.parked(failing).await;
    let admin = session(&server, "admin").await;
    let (status, page) = get(&server, Some(&admin), "/console/errors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("/console/tickets/{failing}\"")),
        "{page}"
    );
    assert!(
        page.contains("Parked events") && page.contains("attempts"),
        "{page}"
    );
    let at = page.find("data-ticket=\"").expect("an error ticket") + 13;
    let error: String = page[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let csrf = csrf_in(&page);
    let retry = format!("/console/tickets/{error}/actions/retry");
    assert_eq!(
        post_form(&server, &admin, &retry, &[("csrf", &csrf)]).await,
        StatusCode::SEE_OTHER
    );
    // The error ticket is resolved; the failed ticket's log says why its
    // event runs again.
    let error: i64 = error.parse().expect("an id");
    server
        .wait_for_ticket(error, "resolved", |t| t["status"] == "closed")
        .await;
    let logs = server.logs(failing).await;
    assert!(
        logs.iter().any(|l| l["action"] == "retry_requested"),
        "{logs:?}"
    );
    let (_, page) = get(&server, Some(&admin), "/console/errors").await;
    assert!(
        !page.contains(&format!("data-ticket=\"{error}\"")),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_changes_a_lifetime_in_the_panel_and_it_is_in_force() {
    let w = world().await;
    let server = &w.server;
    // Refused to a member, and a bad value is refused with its reason.
    let member = session(server, "member").await;
    let (status, _) = get(server, Some(&member), "/console/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = session(server, "admin").await;
    let (_, panel) = get(server, Some(&admin), "/console/admin").await;
    let csrf = csrf_in(&panel);
    let settings = "/console/admin/settings/wca/edit_person";
    let bad = post_form(
        server,
        &admin,
        settings,
        &[("csrf", &csrf), ("lifetime", "soon")],
    )
    .await;
    assert_eq!(bad, StatusCode::UNPROCESSABLE_ENTITY);
    let member_csrf = csrf_in(&get(server, Some(&member), "/console/").await.1);
    let not_admin = post_form(
        server,
        &member,
        settings,
        &[("csrf", &member_csrf), ("lifetime", "1d")],
    )
    .await;
    assert_eq!(not_admin, StatusCode::FORBIDDEN);

    // In the browser: 21 days instead of 14.
    let browser = Browser::start().await;
    browser.sign_in(&server.base, "admin", PASSWORD).await;
    let ticket_page = format!("{}/console/tickets/{}", server.base, w.ticket);
    browser.goto(&ticket_page).await;
    let before = browser.text().await;
    browser
        .goto(&format!("{}/console/admin", server.base))
        .await;
    let form = "section[data-type='wca/edit_person'] ";
    let lifetime = browser
        .client
        .find(fantoccini::Locator::Css(&format!(
            "{form}input[name=lifetime]"
        )))
        .await
        .expect("the lifetime field");
    lifetime.clear().await.expect("clearing");
    lifetime.send_keys("21d").await.expect("typing");
    browser.click(&format!("{form}button[type=submit]")).await;
    browser.until_text("Administration").await;
    browser.screenshot("admin").await;
    let value = browser
        .client
        .find(fantoccini::Locator::Css(&format!(
            "{form}input[name=lifetime]"
        )))
        .await
        .expect("the lifetime field")
        .prop("value")
        .await
        .expect("its value");
    // Shown as Baton writes durations: 21 days are three weeks.
    assert_eq!(value.as_deref(), Some("3w"));
    // The history says who changed what, from and to (the refused
    // attempts left no row).
    let history = browser.text().await;
    assert!(
        history.contains("admin wca/edit_person lifetime: 2w → 3w"),
        "{history}"
    );
    assert_eq!(history.matches("wca/edit_person lifetime:").count(), 1);
    // In force: the API says so, and the waiting ticket's deadline moved.
    let (_, types) = server.get("/api/v1/metaservices/wca/ticket-types").await;
    let edit = types["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == "edit_person")
        .cloned()
        .unwrap_or_default();
    assert_eq!(edit["settings"]["lifetime"], "3w", "{edit}");
    browser.goto(&ticket_page).await;
    let after = browser.text().await;
    let deadline = |text: &str| {
        text.lines()
            .find(|l| l.contains("the state's deadline"))
            .map(String::from)
    };
    assert_ne!(deadline(&before), deadline(&after), "{after}");
    assert!(deadline(&after).is_some(), "{after}");
}

#[tokio::test]
async fn admins_add_users_groups_members_and_tokens_in_the_panel() {
    let w = world().await;
    let server = &w.server;
    let member = session(server, "member").await;
    let (status, _) = get(server, Some(&member), "/console/admin/people").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = session(server, "admin").await;
    let (status, page) = get(server, Some(&admin), "/console/admin/people").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-login=\"member\""), "{page}");
    let csrf = csrf_in(&page);
    // A user with a first password, who then signs in.
    let made = post_form(
        server,
        &admin,
        "/console/admin/people/users",
        &[
            ("csrf", &csrf),
            ("login", "newbie"),
            ("name", "New Bie"),
            ("email", "newbie@example.org"),
            ("password", "a first long password"),
        ],
    )
    .await;
    assert_eq!(made, StatusCode::SEE_OTHER);
    let taken = post_form(
        server,
        &admin,
        "/console/admin/people/users",
        &[("csrf", &csrf), ("login", "newbie"), ("name", "Again")],
    )
    .await;
    assert_eq!(taken, StatusCode::UNPROCESSABLE_ENTITY);
    let signed_in = sign_in(server, "newbie", "a first long password")
        .await
        .status();
    assert_eq!(signed_in, StatusCode::SEE_OTHER);
    // A group, and the new user in it.
    assert_eq!(
        post_form(
            server,
            &admin,
            "/console/admin/people/groups",
            &[("csrf", &csrf), ("name", "reviewers")]
        )
        .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post_form(
            server,
            &admin,
            "/console/admin/people/groups",
            &[("csrf", &csrf), ("name", "Not A Name")]
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let joined = post_form(
        server,
        &admin,
        "/console/admin/people/members",
        &[("csrf", &csrf), ("login", "newbie"), ("group", "reviewers")],
    )
    .await;
    assert_eq!(joined, StatusCode::SEE_OTHER);
    let (_, groups) = server.get("/api/v1/groups").await;
    let reviewers = groups["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["name"] == "reviewers")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        reviewers["members"].as_array().map(Vec::len),
        Some(1),
        "{groups}"
    );
    // A token, shown once, that works on the API.
    let (_, users) = server.get("/api/v1/users").await;
    let newbie = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["login"] == "newbie")
        .and_then(|u| u["id"].as_i64())
        .expect("the new user");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/console/admin/people/{newbie}/tokens",
            server.base
        ))
        .header(COOKIE, admin.clone())
        .form(&[("csrf", csrf.as_str()), ("name", "laptop")])
        .send()
        .await
        .expect("posting");
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap_or_default();
    let at = page.find("id=\"token\">").expect("the token, once") + 11;
    let token: String = page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let (status, me) = server.call("GET", "/api/v1/me", None, Some(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["login"], "newbie");
    let user_page = format!("/console/admin/people/{newbie}");
    let (_, again) = get(server, Some(&admin), &user_page).await;
    assert!(!again.contains(&token), "the token is shown once");
    assert!(again.contains("laptop"), "listed by name: {again}");

    // Revoked from the panel: the API refuses it at once; a second
    // revocation says it is not live; members may not revoke.
    let id = again
        .split("data-token=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token row")
        .to_string();
    let revoke = format!("/console/admin/tokens/{id}/revoke");
    let member = session(server, "member").await;
    let member_csrf = csrf_in(&get(server, Some(&member), "/console/").await.1);
    let refused = post_form(
        server,
        &member,
        &revoke,
        &[("csrf", &member_csrf), ("user", &newbie.to_string())],
    )
    .await;
    assert_eq!(refused, StatusCode::FORBIDDEN);
    let (status, _) = server.call("GET", "/api/v1/me", None, Some(&token)).await;
    assert_eq!(status, 200, "still live after the member's attempt");
    let done = post_form(
        server,
        &admin,
        &revoke,
        &[("csrf", &csrf), ("user", &newbie.to_string())],
    )
    .await;
    assert_eq!(done, StatusCode::SEE_OTHER);
    let (status, _) = server.call("GET", "/api/v1/me", None, Some(&token)).await;
    assert_eq!(status, 401);
    let (_, after) = get(server, Some(&admin), &user_page).await;
    assert!(after.contains("revoked 20"), "{after}");
    let twice = post_form(
        server,
        &admin,
        &revoke,
        &[("csrf", &csrf), ("user", &newbie.to_string())],
    )
    .await;
    assert_eq!(twice, StatusCode::CONFLICT, "the page says it is not live");
}

/// The process ids below `root` (its children, theirs, and so on), read
/// from `/proc`.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some((_, ppid)) = stat(pid) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut at = 0;
    while at < found.len() {
        let parent = found[at];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        at += 1;
    }
    found.remove(0);
    found
}

/// A process's state letter and parent, while it exists.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name, which may hold spaces and parentheses.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// A test's browser ends with it: chromedriver and the Chromium it
/// started, with every helper process, are gone once the `Browser` is
/// dropped (as on a panic), not left running for the rest of the suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tests_browser_does_not_outlive_it() {
    let browser = Browser::start().await;
    browser.goto("about:blank").await;
    let started = descendants(browser.driver_pid());
    assert!(
        !started.is_empty(),
        "chromedriver started no browser process"
    );
    drop(browser);
    let since = std::time::Instant::now();
    loop {
        let left: Vec<u32> = started
            .iter()
            .copied()
            .filter(|pid| stat(*pid).is_some_and(|(state, _)| state != 'Z'))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            since.elapsed() < std::time::Duration::from_secs(30),
            "browser processes still running 30 s after the test's end: {left:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
