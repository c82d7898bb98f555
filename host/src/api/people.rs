//! People (admin): users, tokens, groups and members; `GET /me` for
//! everyone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Caller, new_token};
use super::error::{AppError, ProblemKind};
use super::extract::{Body, PathParam};
use super::views::{Items, time};
use crate::model::ticket::is_identifier;
use crate::store::{Group, NewUser, User};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    /// Whether notifications also go to `email` (when the server sends
    /// e-mail).
    pub email_notifications: bool,
    pub created_at: String,
}

pub fn user_view(u: User) -> UserView {
    UserView {
        id: u.id,
        login: u.login,
        name: u.name,
        email: u.email,
        is_admin: u.is_admin,
        email_notifications: u.email_notifications,
        created_at: time(u.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub members: Vec<i64>,
    pub created_at: String,
}

fn group_view(g: Group) -> GroupView {
    GroupView {
        id: g.id,
        name: g.name,
        members: g.members,
        created_at: time(g.created_at),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    login: String,
    name: String,
    email: Option<String>,
    #[serde(default)]
    is_admin: bool,
}

/// The rules for a new user (`name` already trimmed), shared by the API
/// and `baton admin create-user`.
pub fn check_new_user(login: &str, name: &str, email: Option<&str>) -> Result<(), &'static str> {
    let login_ok = !login.is_empty()
        && login.len() <= 64
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if !login_ok {
        return Err("login must be 1 to 64 of a-z, 0-9, '_', '.', '-'");
    }
    if name.is_empty() || name.chars().count() > 200 {
        return Err("name must have 1 to 200 characters");
    }
    if let Some(email) = email
        && (!email.contains('@') || email.len() > 254)
    {
        return Err("email is not an address");
    }
    Ok(())
}

#[utoipa::path(post, path = "/users", tag = "people", request_body = NewUserBody, responses((status = 201, body = UserView), (status = 403, body = super::error::Problem), (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewUserBody>,
) -> Result<(StatusCode, Json<UserView>), AppError> {
    caller.require_admin()?;
    let name = body.name.trim().to_string();
    check_new_user(&body.login, &name, body.email.as_deref())
        .map_err(|why| AppError::new(ProblemKind::InvalidRequest, why))?;
    let new = NewUser {
        login: body.login,
        name,
        email: body.email,
        is_admin: body.is_admin,
    };
    let user = state
        .engine
        .store
        .create_user(&new, state.engine.clock.now())
        .await?;
    tracing::info!(by = caller.user.id, user = user.id, login = %user.login, admin = user.is_admin, "user created");
    Ok((StatusCode::CREATED, Json(user_view(user))))
}

#[utoipa::path(get, path = "/users", tag = "people", responses((status = 200, body = Items<UserView>), (status = 403, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<UserView>>, AppError> {
    caller.require_admin()?;
    let items = state
        .engine
        .store
        .users()
        .await?
        .into_iter()
        .map(user_view)
        .collect();
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewTokenView {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Shown once: only its hash is kept.
    pub token: String,
    pub created_at: String,
}

#[utoipa::path(post, path = "/users/{id}/tokens", tag = "people", params(("id" = i64, Path)), request_body = NewTokenBody, responses((status = 201, description = "The token is shown this once", body = NewTokenView), (status = 403, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(user_id): PathParam<i64>,
    Body(body): Body<NewTokenBody>,
) -> Result<(StatusCode, Json<NewTokenView>), AppError> {
    caller.require_admin()?;
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::new(
            ProblemKind::InvalidRequest,
            "name must have 1 to 100 characters",
        ));
    }
    if state.engine.store.user(user_id).await?.is_none() {
        return Err(AppError::new(
            ProblemKind::NotFound,
            format!("no user {user_id}"),
        ));
    }
    let (token, hash) = new_token()?;
    let row = state
        .engine
        .store
        .create_token(user_id, &name, &hash, state.engine.clock.now())
        .await?;
    tracing::info!(
        by = caller.user.id,
        user = user_id,
        token = row.id,
        "token created"
    );
    Ok((
        StatusCode::CREATED,
        Json(NewTokenView {
            id: row.id,
            user_id,
            name: row.name,
            token,
            created_at: time(row.created_at),
        }),
    ))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "people", params(("id" = i64, Path)), responses((status = 204, description = "Revoked"), (status = 403, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(id): PathParam<i64>,
) -> Result<StatusCode, AppError> {
    caller.require_admin()?;
    if state.engine.revoke_token(id).await? {
        tracing::info!(by = caller.user.id, token = id, "token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::new(
            ProblemKind::NotFound,
            format!("no live token {id}"),
        ))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupBody {
    name: String,
}

#[utoipa::path(post, path = "/groups", tag = "people", request_body = NewGroupBody, responses((status = 201, body = GroupView), (status = 403, body = super::error::Problem), (status = 409, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<NewGroupBody>,
) -> Result<(StatusCode, Json<GroupView>), AppError> {
    caller.require_admin()?;
    if !is_identifier(&body.name) {
        return Err(AppError::new(
            ProblemKind::InvalidRequest,
            "a group name is lowercase letters, digits and '_'",
        ));
    }
    let group = state
        .engine
        .store
        .create_group(&body.name, state.engine.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(group_view(group))))
}

#[utoipa::path(get, path = "/groups", tag = "people", responses((status = 200, body = Items<GroupView>), (status = 403, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<GroupView>>, AppError> {
    caller.require_admin()?;
    let items = state
        .engine
        .store
        .groups()
        .await?
        .into_iter()
        .map(group_view)
        .collect();
    Ok(Json(Items { items }))
}

async fn membership(
    state: &AppState,
    caller: &Caller,
    name: &str,
    user_id: i64,
    member: bool,
) -> Result<StatusCode, AppError> {
    caller.require_admin()?;
    let group = state
        .engine
        .store
        .group(name)
        .await?
        .ok_or_else(|| AppError::new(ProblemKind::NotFound, format!("no group {name:?}")))?;
    if state.engine.store.user(user_id).await?.is_none() {
        return Err(AppError::new(
            ProblemKind::NotFound,
            format!("no user {user_id}"),
        ));
    }
    state
        .engine
        .store
        .set_member(group.id, user_id, member)
        .await?;
    tracing::info!(by = caller.user.id, group = %name, user = user_id, member, "group membership changed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/groups/{name}/members/{user_id}", tag = "people", params(("name" = String, Path), ("user_id" = i64, Path)), responses((status = 204, description = "A member"), (status = 403, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((name, user_id)): PathParam<(String, i64)>,
) -> Result<StatusCode, AppError> {
    membership(&state, &caller, &name, user_id, true).await
}

#[utoipa::path(delete, path = "/groups/{name}/members/{user_id}", tag = "people", params(("name" = String, Path), ("user_id" = i64, Path)), responses((status = 204, description = "Not a member"), (status = 403, body = super::error::Problem), (status = 401, description = "No valid token", body = super::error::Problem), (status = 404, description = "Not found, or not visible to the caller", body = super::error::Problem)), security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    PathParam((name, user_id)): PathParam<(String, i64)>,
) -> Result<StatusCode, AppError> {
    membership(&state, &caller, &name, user_id, false).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub groups: Vec<String>,
}

/// The caller's own settings.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    /// Notifications also by e-mail (to the account's address).
    pub email_notifications: Option<bool>,
}

#[utoipa::path(patch, path = "/me", tag = "people", request_body = MePatch, responses((status = 200, body = MeView), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body<MePatch>,
) -> Result<Json<MeView>, AppError> {
    let mut caller = caller;
    if let Some(on) = body.email_notifications {
        state
            .engine
            .store
            .set_email_notifications(caller.user.id, on)
            .await?;
        caller.user.email_notifications = on;
    }
    me(State(state), caller).await
}

#[utoipa::path(get, path = "/me", tag = "people", responses((status = 200, body = MeView), (status = 401, body = super::error::Problem)), security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<MeView>, AppError> {
    let groups = state
        .engine
        .store
        .groups_of(caller.user.id)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(Json(MeView {
        user: user_view(caller.user),
        groups,
    }))
}
