//! The administration panel (admins only): each ticket type's settings
//! (lifetime, notification frequency and repeats, retention) edited with
//! the engine's own validation, and put in force at once, for the tickets
//! already waiting too; and the history of those changes, who made them
//! and what each changed.

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
use serde_json::Value;

pub struct TypeRow {
    pub metaservice: String,
    pub name: String,
    pub lifetime: String,
    pub notify_every: String,
    pub notify_repeats: u32,
    pub retention: String,
    pub archive: bool,
}

/// One settings change, as the history shows it.
pub struct ChangeRow {
    pub when: String,
    pub who: String,
    pub ticket_type: String,
    pub what: String,
}

/// Changes the history shows (the newest).
const HISTORY: u32 = 50;

#[derive(Template)]
#[template(path = "console/admin.html")]
struct Panel {
    me: Option<Me>,
    csrf: String,
    types: Vec<TypeRow>,
    history: Vec<ChangeRow>,
    notice: Option<String>,
}

/// What a change changed, field by field: `lifetime: 14d → 7d`
/// (`off` for a setting turned off).
fn differences(old: &Value, new: &Value) -> String {
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "off".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let Some(fields) = new.as_object() else {
        return format!("{old} → {new}");
    };
    let changed: Vec<String> = fields
        .iter()
        .filter(|(k, v)| old.get(k.as_str()) != Some(*v))
        .map(|(k, v)| format!("{k}: {} → {}", show(old.get(k.as_str())), show(Some(v))))
        .collect();
    if changed.is_empty() {
        "nothing (saved as it was)".into()
    } else {
        changed.join("; ")
    }
}

async fn history(console: &Console) -> Result<Vec<ChangeRow>, Response> {
    let store = &console.engine.store;
    let fail = |e: crate::store::StoreError| failure(&e.to_string());
    let records = store.settings_history(HISTORY).await.map_err(fail)?;
    let users = store.users().await.map_err(fail)?;
    let login: HashMap<i64, String> = users.into_iter().map(|u| (u.id, u.login)).collect();
    Ok(records
        .into_iter()
        .map(|r| ChangeRow {
            when: crate::model::rfc3339(r.at),
            who: login
                .get(&r.change.user_id)
                .cloned()
                .unwrap_or_else(|| format!("user {}", r.change.user_id)),
            ticket_type: format!("{}/{}", r.change.metaservice, r.change.ticket_type),
            what: differences(&r.change.old, &r.change.new),
        })
        .collect())
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

async fn panel(
    console: &Console,
    signed: &Signed,
    notice: Option<String>,
) -> Result<Panel, Response> {
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
    Ok(Panel {
        me: Me::of(signed),
        csrf: signed.csrf.clone(),
        types,
        history: history(console).await?,
        notice,
    })
}

/// The panel, with `notice` on it when there is one.
async fn show(
    console: &Console,
    signed: &Signed,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    match panel(console, signed, notice).await {
        Ok(page) => render(status, &page),
        Err(page) => page,
    }
}

pub async fn page(State(console): State<Console>, signed: Signed) -> Response {
    if let Some(refused) = admins_only(&signed) {
        return refused;
    }
    show(&console, &signed, StatusCode::OK, None).await
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
            return show(
                &console,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(notice),
            )
            .await;
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
            show(
                &console,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(notice),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::differences;
    use serde_json::json;

    #[test]
    fn a_change_reads_field_by_field() {
        let old = json!({"lifetime": "14d", "notify_every": "1d", "notify_repeats": 3});
        let new = json!({"lifetime": "7d", "notify_every": null, "notify_repeats": 3});
        assert_eq!(
            differences(&old, &new),
            "lifetime: 14d → 7d; notify_every: 1d → off"
        );
        assert_eq!(differences(&old, &old), "nothing (saved as it was)");
    }
}
