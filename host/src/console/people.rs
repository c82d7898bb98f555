//! The administration panel's people (admins only): users with their
//! groups, a new user (with a first password), groups and their members.
//! Each user's tokens are on their own page (`tokens.rs`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::pages::{Me, failure, forbidden_form, message, render};
use super::session::{self, MIN_PASSWORD, Signed, same};
use crate::store::{NewUser, StoreError};

pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub groups: String,
}

pub struct GroupRow {
    pub name: String,
    pub members: String,
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct People {
    me: Option<Me>,
    csrf: String,
    users: Vec<UserRow>,
    groups: Vec<GroupRow>,
    notice: Option<String>,
}

async fn people(
    console: &Console,
    signed: &Signed,
    notice: Option<String>,
) -> Result<People, Response> {
    let store = &console.engine.store;
    let fail = |e: StoreError| failure(&e.to_string());
    let users = store.users().await.map_err(fail)?;
    let groups = store.groups().await.map_err(fail)?;
    let login_of: HashMap<i64, String> = users.iter().map(|u| (u.id, u.login.clone())).collect();
    let users = users
        .into_iter()
        .map(|u| {
            let mine: Vec<&str> = groups
                .iter()
                .filter(|g| g.members.contains(&u.id))
                .map(|g| g.name.as_str())
                .collect();
            UserRow {
                id: u.id,
                login: u.login,
                name: u.name,
                email: u.email.unwrap_or_default(),
                admin: u.is_admin,
                groups: mine.join(", "),
            }
        })
        .collect();
    let groups = groups
        .into_iter()
        .map(|g| GroupRow {
            members: g
                .members
                .iter()
                .map(|id| login_of.get(id).cloned().unwrap_or_else(|| id.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            name: g.name,
        })
        .collect();
    Ok(People {
        me: Me::of(signed),
        csrf: signed.csrf.clone(),
        users,
        groups,
        notice,
    })
}

pub fn refused(signed: &Signed, form: &HashMap<String, String>) -> Option<Response> {
    if !form.get("csrf").is_some_and(|c| same(c, &signed.csrf)) {
        return Some(forbidden_form(signed));
    }
    (!signed.user.is_admin).then(|| {
        message(
            StatusCode::FORBIDDEN,
            Me::of(signed),
            "For administrators",
            "Only administrators manage people.",
        )
    })
}

async fn show(
    console: &Console,
    signed: &Signed,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    match people(console, signed, notice).await {
        Ok(page) => render(status, &page),
        Err(page) => page,
    }
}

pub async fn page(State(console): State<Console>, signed: Signed) -> Response {
    if !signed.user.is_admin {
        return message(
            StatusCode::FORBIDDEN,
            Me::of(&signed),
            "For administrators",
            "Only administrators manage people.",
        );
    }
    show(&console, &signed, StatusCode::OK, None).await
}

pub async fn create_user(
    State(console): State<Console>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(page) = refused(&signed, &form) {
        return page;
    }
    let field = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (login, name, email, password) = (
        field("login"),
        field("name"),
        field("email"),
        field("password"),
    );
    let email = (!email.is_empty()).then_some(email);
    let bad = |why: String| {
        show(
            &console,
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
        )
    };
    if let Err(why) = crate::api::check_new_user(&login, &name, email.as_deref()) {
        return bad(why.to_string()).await;
    }
    if !password.is_empty() && password.chars().count() < MIN_PASSWORD {
        return bad(format!(
            "The password must have at least {MIN_PASSWORD} characters."
        ))
        .await;
    }
    let engine = &console.engine;
    let new = NewUser {
        login: login.clone(),
        name,
        email,
        is_admin: form.contains_key("admin"),
    };
    let user = match engine.store.create_user(&new, engine.clock.now()).await {
        Ok(u) => u,
        Err(StoreError::Duplicate(_)) => {
            return bad(format!("The login {login:?} is taken.")).await;
        }
        Err(e) => return failure(&e.to_string()),
    };
    if !password.is_empty() {
        let hash =
            match tokio::task::spawn_blocking(move || session::hash_password(&password)).await {
                Ok(Ok(h)) => h,
                Ok(Err(e)) => return failure(&e),
                Err(e) => return failure(&e.to_string()),
            };
        if let Err(e) = engine.store.set_password(user.id, Some(&hash)).await {
            return failure(&e.to_string());
        }
    }
    tracing::info!(
        by = signed.user.id,
        user = user.id,
        "user created from the console"
    );
    Redirect::to("/console/admin/people").into_response()
}

pub async fn create_group(
    State(console): State<Console>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(page) = refused(&signed, &form) {
        return page;
    }
    let name = form
        .get("name")
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    if !crate::model::ticket::is_identifier(&name) {
        let why = "A group's name is a-z, 0-9 and '_', starting with a letter.".to_string();
        return show(
            &console,
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
        )
        .await;
    }
    let engine = &console.engine;
    match engine.store.create_group(&name, engine.clock.now()).await {
        Ok(_) => Redirect::to("/console/admin/people").into_response(),
        Err(StoreError::Duplicate(_)) => {
            show(
                &console,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Group {name} exists.")),
            )
            .await
        }
        Err(e) => failure(&e.to_string()),
    }
}

pub async fn membership(
    State(console): State<Console>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(page) = refused(&signed, &form) {
        return page;
    }
    let store = &console.engine.store;
    let group = form.get("group").cloned().unwrap_or_default();
    let login = form.get("login").cloned().unwrap_or_default();
    let member = !form.contains_key("remove");
    let (users, found) = match (store.users().await, store.group(&group).await) {
        (Ok(u), Ok(g)) => (u, g),
        (Err(e), _) | (_, Err(e)) => return failure(&e.to_string()),
    };
    let (Some(user), Some(group)) = (users.iter().find(|u| u.login == login), found) else {
        let why = format!("No user {login:?} or no group {group:?}.");
        return show(
            &console,
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
        )
        .await;
    };
    match store.set_member(group.id, user.id, member).await {
        Ok(_) => Redirect::to("/console/admin/people").into_response(),
        Err(e) => failure(&e.to_string()),
    }
}
