//! `baton admin create-user|create-token`: people and tokens straight in
//! the database, for the first administrator and for recovery when no
//! admin token is at hand. The server may be running meanwhile.

use anyhow::{Context, bail};

use crate::config::Config;
use crate::store::{NewUser, Store};

fn now() -> crate::model::Timestamp {
    chrono::Utc::now().timestamp_millis()
}

async fn open(config: &Config) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    crate::store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::store::redact(&config.database_url)
            )
        })
}

/// Creates a user; prints its id.
pub(super) async fn create_user(config: &Config, mut user: NewUser) -> anyhow::Result<()> {
    user.name = user.name.trim().to_string();
    crate::api::check_new_user(&user.login, &user.name, user.email.as_deref())
        .map_err(anyhow::Error::msg)?;
    let login = user.login.clone();
    let store = open(config).await?;
    let taken = store.users().await?.into_iter().any(|u| u.login == login);
    if taken {
        bail!("a user with login {login:?} exists already");
    }
    let created = store.create_user(&user, now()).await?;
    println!(
        "user {} created: login {}, {}",
        created.id,
        created.login,
        if created.is_admin {
            "administrator"
        } else {
            "not an administrator"
        }
    );
    Ok(())
}

/// Sets the console password of `login` from standard input's first line.
pub(super) async fn set_password(config: &Config, login: &str) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.chars().count() < crate::console::MIN_PASSWORD {
        bail!(
            "the password must have at least {} characters",
            crate::console::MIN_PASSWORD
        );
    }
    let store = open(config).await?;
    let Some(user) = store.users().await?.into_iter().find(|u| u.login == login) else {
        bail!("no user with login {login:?} (see `baton admin create-user`)");
    };
    let hash = crate::console::hash_password(password).map_err(anyhow::Error::msg)?;
    store.set_password(user.id, Some(&hash)).await?;
    println!(
        "password set for {}; their console sessions are ended",
        user.login
    );
    Ok(())
}

/// Creates a token for the user `login`; prints it, once.
pub(super) async fn create_token(config: &Config, login: &str, name: &str) -> anyhow::Result<()> {
    let store = open(config).await?;
    let Some(user) = store.users().await?.into_iter().find(|u| u.login == login) else {
        bail!("no user with login {login:?} (see `baton admin create-user`)");
    };
    let (token, hash) = crate::api::auth::new_token().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let created = store.create_token(user.id, name, &hash, now()).await?;
    eprintln!(
        "token {} ({name:?}) created for {}; it is shown once, store it now:",
        created.id, user.login
    );
    println!("{token}");
    Ok(())
}
