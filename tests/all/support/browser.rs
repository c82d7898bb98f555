//! A headless Chromium driven over WebDriver: `chromedriver` started on a
//! loopback port for the test, stopped with its browser when dropped (also
//! when the test panics); screenshots saved under
//! `target/console-screenshots/` for people to look at.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Drop for Browser {
    /// chromedriver leads a process group of its own, which the Chromium
    /// it starts (and that browser's helpers) stay in: killing the group
    /// ends them all. Killing chromedriver alone left each test's browser
    /// running, adopted by init, with its pages still open (five browsers
    /// after a full suite, about a tenth of a core between them by `ps`).
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Chromium and chromedriver: from `cargo xtask test`, or installed now
/// the same way.
fn binaries() -> (PathBuf, PathBuf) {
    match (
        std::env::var("BATON_TEST_CHROMIUM"),
        std::env::var("BATON_TEST_CHROMEDRIVER"),
    ) {
        (Ok(browser), Ok(driver)) => (browser.into(), driver.into()),
        _ => crate::debian::ensure_chromium().expect("Chromium and chromedriver"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    pub async fn start() -> Browser {
        let (chromium, chromedriver) = binaries();
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000"],
            }),
        );
        let start = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if start.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Browser { client, driver }
    }

    /// chromedriver's process id, which is also its process group's.
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigating");
    }

    /// The page's visible text (once the page in view has loaded: right
    /// after a click the old page's body may go stale under us).
    pub async fn text(&self) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            match self.client.find(Locator::Css("body")).await {
                Ok(body) => match body.text().await {
                    Ok(text) => return text,
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no page text: {last}");
    }

    /// Waits until the page's text contains `what`.
    pub async fn until_text(&self, what: &str) {
        let start = Instant::now();
        loop {
            let text = self.text().await;
            if text.contains(what) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the page never said {what:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            // A server-rendered page: look again.
            self.client.refresh().await.expect("reloading");
        }
    }

    /// Waits until the page's text contains `what` without reloading it:
    /// a live page must change by itself.
    pub async fn until_live_text(&self, what: &str) {
        let start = Instant::now();
        loop {
            let text = self.text().await;
            if text.contains(what) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the page never said {what:?} by itself:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and returns its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("running {script:?}: {e}"))
    }

    /// Marks the page in view, so that [`Browser::marked`] tells whether
    /// it is still the same page (not reloaded, not left).
    pub async fn mark(&self) {
        self.eval("window.batonMark = 'still here'; return true;")
            .await;
    }

    pub async fn marked(&self) -> bool {
        self.eval("return window.batonMark === 'still here';").await == serde_json::json!(true)
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        field.send_keys(value).await.expect("typing");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .expect("clicking");
    }

    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Signs in through the form and lands on the ticket list.
    pub async fn sign_in(&self, base: &str, login: &str, password: &str) {
        self.goto(&format!("{base}/console/")).await;
        self.fill("input[name=login]", login).await;
        self.fill("input[name=password]", password).await;
        self.click("button[type=submit]").await;
        self.until_text("Sign out").await;
    }

    /// Saves a PNG of the page as `target/console-screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = root().join("target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("saving the screenshot");
    }
}
