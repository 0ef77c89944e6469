//! The dashboard in real headless Chromium, driven over WebDriver.
//!
//! Needs `chromium` and `chromedriver` (Debian packages; `.ci/run` installs them). Set
//! `AURALIX_SKIP_BROWSER=1` to skip on a machine without them.

use std::{path::PathBuf, process::Stdio, time::Duration};

use thirtyfour::{ChromiumLikeCapabilities, prelude::*};
use tokio::process::{Child, Command};

use crate::helpers::{Backend, PASSWORD, TestApp, email};

/// Where screenshots go: `target/test-output/`.
pub fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A chromedriver process and a headless Chromium session; both end on drop/quit.
pub struct Browser {
    pub driver: WebDriver,
    _chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` when browsers are switched off for this machine.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        if std::env::var("AURALIX_SKIP_BROWSER").is_ok_and(|v| v == "1") {
            eprintln!("AURALIX_SKIP_BROWSER=1: browser test skipped");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let chromedriver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn();
        let chromedriver = match chromedriver {
            Ok(child) => child,
            // CI sets AURALIX_REQUIRE_BROWSER=1 so a missing browser fails there; on a fresh
            // machine without Chromium the rest of the suite still runs.
            Err(_) if std::env::var("AURALIX_REQUIRE_BROWSER").is_err() => {
                eprintln!(
                    "chromedriver not found (apt-get install chromium chromium-driver): browser test skipped"
                );
                return None;
            }
            Err(error) => panic!(
                "chromedriver must be installed (apt-get install chromium chromium-driver): {error}"
            ),
        };
        let profile = tempfile::tempdir().unwrap();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
            .unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", profile.path().display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..50 {
            match WebDriver::new(&url, caps.clone()).await {
                Ok(driver) => {
                    return Some(Browser {
                        driver,
                        _chromedriver: chromedriver,
                        _profile: profile,
                    });
                }
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("could not start a Chromium session: {last_error:?}");
    }

    pub async fn screenshot(&self, name: &str) {
        let path = output_dir().join(name);
        self.driver.screenshot(&path).await.expect("screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    pub async fn quit(self) {
        let _ = self.driver.quit().await;
    }
}

/// Finds an element after a page load, waiting generously: CI machines can be slow.
pub async fn find_after_load(d: &WebDriver, by: By) -> WebElement {
    d.query(by)
        .wait(Duration::from_secs(60), Duration::from_millis(100))
        .first()
        .await
        .expect("element after page load")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_signup_create_agent_and_copy_snippet_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let Some(browser) = Browser::start(1280, 900).await else {
        return;
    };
    let d = &browser.driver;

    d.goto(app.url("/signup?lang=en")).await.unwrap();
    d.find(By::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("Vera")
        .await
        .unwrap();
    d.find(By::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(email("chromium"))
        .await
        .unwrap();
    d.find(By::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    d.find(By::Css("input[name=workspace_name]"))
        .await
        .unwrap()
        .send_keys("Vera's bakery")
        .await
        .unwrap();
    d.find(By::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    find_after_load(d, By::LinkText("New agent"))
        .await
        .click()
        .await
        .unwrap();
    find_after_load(d, By::Css("input[name=name]"))
        .await
        .send_keys("Bakery helper")
        .await
        .unwrap();
    d.find(By::Css("textarea[name=greeting]"))
        .await
        .unwrap()
        .send_keys("Hi! Fresh bread today.")
        .await
        .unwrap();
    d.find(By::Css("textarea[name=allowed_origins]"))
        .await
        .unwrap()
        .send_keys("https://bakery.example")
        .await
        .unwrap();
    browser.screenshot("dashboard-agent-form.png").await;
    d.find(By::Css("form.card button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let snippet = find_after_load(d, By::Id("embed-snippet")).await;
    let text = snippet.text().await.unwrap();
    assert!(
        text.starts_with(&format!(
            "<script src=\"{}/widget.js\" data-agent=\"ax_",
            app.base
        )),
        "{text}"
    );
    assert!(text.ends_with("async></script>"));
    d.find(By::Css("button[data-copy]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.screenshot("dashboard-agent-snippet.png").await;

    // Phone-sized viewport: the page still fits without horizontal scrolling.
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    let overflow: bool = d
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(!overflow, "no horizontal scroll on a phone");
    browser.screenshot("dashboard-agent-phone.png").await;
    browser.quit().await;
}
