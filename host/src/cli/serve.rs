//! `baton serve`: the API and the engine until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::engine::{Engine, SystemClock};
use crate::runtime::Runtime;

/// The system clock, or, with `BATON_CLOCK_OFFSET` (a duration such as
/// `2h`, `-1d` for the past), the system clock moved by it: for drills and
/// for tests that must move a real process's time.
fn clock() -> anyhow::Result<Arc<dyn crate::engine::Clock>> {
    let Ok(text) = std::env::var("BATON_CLOCK_OFFSET") else {
        return Ok(Arc::new(SystemClock));
    };
    let (sign, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.as_str()),
    };
    let offset = crate::model::duration::parse(magnitude)
        .map_err(|e| anyhow::anyhow!("BATON_CLOCK_OFFSET={text:?}: {e}"))?;
    let offset_ms = sign * i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
    tracing::warn!(offset = %text, "BATON_CLOCK_OFFSET is set: this process's clock is moved; never do this in production");
    Ok(Arc::new(crate::engine::OffsetClock { offset_ms }))
}

pub(super) async fn serve(config: Config, addr_file: Option<PathBuf>) -> anyhow::Result<()> {
    config.validate()?;
    let store = crate::store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                crate::store::redact(&config.database_url)
            )
        })?;
    let runtime = Runtime::new(
        config.limits,
        config.engine.concurrency,
        Some(config.cache_dir.clone()),
    )?;
    let engine = Engine::new(
        store,
        runtime,
        clock()?,
        config.engine.clone(),
        config.bots_dir.clone(),
    );
    let watch = engine
        .watch_bots_dir()
        .with_context(|| format!("watching {}", config.bots_dir.display()))?;
    let report = engine
        .scan_bots_dir()
        .await
        .with_context(|| format!("reading the bots directory {}", config.bots_dir.display()))?;
    tracing::info!(
        metaservices = report.metaservices.len(),
        bots = report.loaded.len(),
        refused = report.refused.len() + report.manifest_errors.len(),
        "bots directory loaded"
    );

    bootstrap_admin(&engine).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let local = listener.local_addr()?;
    if local.ip().is_loopback() {
        tracing::info!("listening on http://{local}");
    } else {
        tracing::warn!(
            "listening on http://{local}, beyond loopback, in plain HTTP: put a TLS terminator \
             (a reverse proxy) in front, or tokens travel in the clear"
        );
    }
    if let Some(path) = addr_file {
        std::fs::write(&path, local.to_string())
            .with_context(|| format!("writing {}", path.display()))?;
    }

    engine.route_outbox(config.delivery.outbox());
    let dispatcher = tokio::spawn(engine.clone().run(engine.stopped()));
    let delivery = tokio::spawn(
        engine
            .clone()
            .deliver(config.delivery.clone(), engine.stopped()),
    );
    let watcher = tokio::spawn(watch.run(engine.clone(), engine.stopped()));
    let stopper = engine.clone();
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new requests or events; finishing those in flight");
        stopper.stop();
    });
    // Open event streams end when the engine stops (they watch it too), so
    // the graceful shutdown does not wait on them forever.
    let options = crate::api::Options {
        secure_cookies: config.delivery.public_url.starts_with("https://"),
    };
    axum::serve(listener, crate::api::app_with(engine.clone(), options))
        .with_graceful_shutdown(engine.stopped())
        .await?;
    dispatcher.await?;
    delivery.await?;
    watcher.await?;
    signals.abort();
    tracing::info!("stopped");
    Ok(())
}

/// `BATON_ADMIN_TOKEN` creates the first administrator on an empty
/// database, with that token, so a fresh install can be used at once. On a
/// database with users it is ignored.
async fn bootstrap_admin(engine: &Engine) -> anyhow::Result<()> {
    let Ok(token) = std::env::var("BATON_ADMIN_TOKEN") else {
        return Ok(());
    };
    anyhow::ensure!(
        token.len() >= 16,
        "BATON_ADMIN_TOKEN must have at least 16 characters"
    );
    let store = &engine.store;
    if store.count_users().await? > 0 {
        tracing::info!("BATON_ADMIN_TOKEN ignored: the database already has users");
        return Ok(());
    }
    let now = engine.clock.now();
    let admin = crate::store::NewUser {
        login: "admin".into(),
        name: "Administrator".into(),
        email: None,
        is_admin: true,
    };
    let user = store.create_user(&admin, now).await?;
    store
        .create_token(
            user.id,
            "BATON_ADMIN_TOKEN",
            &crate::api::auth::hash_token(&token),
            now,
        )
        .await?;
    tracing::info!(
        user = user.id,
        "created the first administrator, login \"admin\", with BATON_ADMIN_TOKEN"
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
