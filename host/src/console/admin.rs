//! The administration panel (admins only): each ticket type's settings
//! (lifetime, notification frequency and repeats, retention) edited with
//! the engine's own validation, and put in force at once, for the tickets
//! already waiting too.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Console;
use super::pages::{Me, failure, forbidden_form, message, render};
use super::session::{Signed, same};
use crate::engine::{ChangeError, SettingsPatch};
use crate::model::duration;

pub struct TypeRow {
    pub metaservice: String,
    pub name: String,
    pub lifetime: String,
    pub notify_every: String,
    pub notify_repeats: u32,
    pub retention: String,
    pub archive: bool,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct Panel {
    me: Option<Me>,
    csrf: String,
    types: Vec<TypeRow>,
    notice: Option<String>,
}

fn admins_only(signed: &Signed) -> Option<Response> {
    (!signed.user.is_admin).then(|| {
        message(
            StatusCode::FORBIDDEN,
            Me::of(signed),
            "For administrators",
            "Only administrators open the administration panel.",
        )
    })
}

fn panel(console: &Console, signed: &Signed, notice: Option<String>) -> Panel {
    let catalog = console.engine.catalog();
    let show = |d: Option<std::time::Duration>| d.map(duration::format).unwrap_or_default();
    let types = catalog
        .metaservices()
        .flat_map(|ms| {
            ms.ticket_types.values().map(|tt| TypeRow {
                metaservice: ms.name.clone(),
                name: tt.name.clone(),
                lifetime: show(tt.settings.lifetime),
                notify_every: show(tt.settings.notify_every),
                notify_repeats: tt.settings.notify_repeats,
                retention: show(tt.settings.retention),
                archive: tt.settings.on_retention.as_str() == "archive",
            })
        })
        .collect();
    Panel {
        me: Me::of(signed),
        csrf: signed.csrf.clone(),
        types,
        notice,
    }
}

pub async fn page(State(console): State<Console>, signed: Signed) -> Response {
    if let Some(refused) = admins_only(&signed) {
        return refused;
    }
    render(StatusCode::OK, &panel(&console, &signed, None))
}

/// An emptied field clears a duration; a filled one sets it.
fn duration_field(form: &HashMap<String, String>, key: &str) -> Option<Option<String>> {
    form.get(key).map(|v| {
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    })
}

pub async fn settings(
    State(console): State<Console>,
    signed: Signed,
    Path((ms, tt)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !form.get("csrf").is_some_and(|c| same(c, &signed.csrf)) {
        return forbidden_form(&signed);
    }
    if let Some(refused) = admins_only(&signed) {
        return refused;
    }
    let repeats = match form.get("notify_repeats").map(|v| v.trim().parse::<u32>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            let notice = "notify_repeats must be a whole number".to_string();
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &panel(&console, &signed, Some(notice)),
            );
        }
    };
    let patch = SettingsPatch {
        lifetime: duration_field(&form, "lifetime"),
        notify_every: duration_field(&form, "notify_every"),
        notify_repeats: repeats,
        retention: duration_field(&form, "retention"),
        on_retention: form.get("on_retention").cloned(),
    };
    match console
        .engine
        .change_settings(&ms, &tt, signed.user.id, patch)
        .await
    {
        Ok(_) => Redirect::to("/console/admin").into_response(),
        Err(ChangeError::Store(e)) => failure(&e.to_string()),
        Err(e) => {
            let notice = format!("{ms}/{tt} not changed: {e}");
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &panel(&console, &signed, Some(notice)),
            )
        }
    }
}
