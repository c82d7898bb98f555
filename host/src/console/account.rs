//! The signed-in user's account: changing their own password (an admin
//! sets the first one with `baton admin set-password`). A change ends every
//! session of the user, this one included, and opens a new one here.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::Console;
use super::pages::{Me, failure, forbidden_form, render};
use super::session::{self, MIN_PASSWORD, Signed};

#[derive(Template)]
#[template(path = "console/account.html")]
struct Account {
    me: Option<Me>,
    csrf: String,
    min: usize,
    error: Option<String>,
    done: bool,
}

impl super::pages::AccountPage for Account {
    fn set_csrf(&mut self, csrf: String) {
        if let Some(me) = self.me.as_mut() {
            me.csrf = csrf.clone();
        }
        self.csrf = csrf;
    }
}

fn page(signed: &Signed, error: Option<&str>, done: bool) -> Account {
    Account {
        me: Me::of(signed),
        csrf: signed.csrf.clone(),
        min: MIN_PASSWORD,
        error: error.map(String::from),
        done,
    }
}

pub async fn form(signed: Signed) -> Response {
    render(StatusCode::OK, &page(&signed, None, false))
}

pub async fn change(
    State(console): State<Console>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !form
        .get("csrf")
        .is_some_and(|c| session::same(c, &signed.csrf))
    {
        return forbidden_form(&signed);
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (current, new, again) = (field("current"), field("new"), field("again"));
    let refuse = |status, why: &str| render(status, &page(&signed, Some(why), false));
    if new.chars().count() < MIN_PASSWORD {
        let why = format!("The new password must have at least {MIN_PASSWORD} characters.");
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, &why);
    }
    if new != again {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two new passwords differ.",
        );
    }
    let store = &console.engine.store;
    let hash = match store.password_of(&signed.user.login).await {
        Ok(Some((_, hash))) => hash,
        Ok(None) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "Your account has no password to change.",
            );
        }
        Err(e) => return failure(&e.to_string()),
    };
    let ok = tokio::task::spawn_blocking(move || session::verify_password(&current, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        return refuse(StatusCode::FORBIDDEN, "The current password is wrong.");
    }
    let hashed = match tokio::task::spawn_blocking(move || session::hash_password(&new)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return failure(&e),
        Err(e) => return failure(&e.to_string()),
    };
    // Every session of the user ends with the old password.
    if let Err(e) = store.set_password(signed.user.id, Some(&hashed)).await {
        return failure(&e.to_string());
    }
    tracing::info!(user = signed.user.id, "console password changed");
    super::pages::sign_in_again(&console, &signed.user, page(&signed, None, true)).await
}
