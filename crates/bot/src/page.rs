//! One tab of the bot's browser: navigation, scripts, bindings, and what a failure report
//! keeps (a screenshot and the DOM).

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::cdp::Event;
use crate::{BotError, Cdp};

/// A tab, attached with its own protocol session. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Page {
    cdp: Cdp,
    session: String,
    target_id: Value,
}

impl Page {
    /// Enables the `Page` and `Runtime` domains on a freshly attached session
    /// (`Page.addScriptToEvaluateOnNewDocument` is ignored before `Page.enable`).
    pub(crate) async fn attach(
        cdp: Cdp,
        session: String,
        target_id: Value,
    ) -> Result<Page, BotError> {
        let page = Page {
            cdp,
            session,
            target_id,
        };
        page.call("Page.enable", json!({})).await?;
        page.call("Runtime.enable", json!({})).await?;
        Ok(page)
    }

    /// Sends any protocol command to this tab's session.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, BotError> {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Every later event of this tab whose method starts with `prefix` (`""` for all).
    pub fn events(&self, prefix: &str) -> mpsc::UnboundedReceiver<Event> {
        self.cdp.subscribe(Some(&self.session), prefix)
    }

    /// Later browser-level events (all sessions) whose method starts with `prefix`.
    pub(crate) fn browser_events(&self, prefix: &str) -> mpsc::UnboundedReceiver<Event> {
        self.cdp.subscribe(None, prefix)
    }

    /// This tab's protocol session id.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Navigates to `url` and waits for the load event (or `timeout`).
    pub async fn navigate(&self, url: &str, timeout: Duration) -> Result<(), BotError> {
        let mut events = self.events("Page.loadEventFired");
        let started = self.call("Page.navigate", json!({"url": url})).await?;
        if let Some(error) = started["errorText"].as_str().filter(|e| !e.is_empty()) {
            return Err(BotError::Navigation(error.to_owned()));
        }
        match tokio::time::timeout(timeout, events.recv()).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(BotError::BrowserClosed("Page.loadEventFired".into())),
            Err(_) => Err(BotError::Timeout {
                method: "Page.loadEventFired".into(),
                timeout,
            }),
        }
    }

    /// Runs `source` in every document this tab loads from now on, before the page's own
    /// scripts, in the page's main world.
    pub async fn add_init_script(&self, source: &str) -> Result<(), BotError> {
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": source}),
        )
        .await?;
        Ok(())
    }

    /// Exposes a function `name` on every document's global object; each call of it is a
    /// `Runtime.bindingCalled` event with its string argument as `payload`.
    pub async fn add_binding(&self, name: &str) -> Result<(), BotError> {
        self.call("Runtime.addBinding", json!({"name": name}))
            .await?;
        Ok(())
    }

    /// Evaluates `expression` in the page, awaits it when it is a promise, and returns its
    /// value (as JSON); an exception is [`BotError::Exception`].
    pub async fn evaluate(&self, expression: &str) -> Result<Value, BotError> {
        let out = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await?;
        if let Some(exception) = out.get("exceptionDetails") {
            let text = exception["exception"]["description"]
                .as_str()
                .or_else(|| exception["text"].as_str())
                .unwrap_or("an exception")
                .to_owned();
            return Err(BotError::Exception(text));
        }
        Ok(out["result"]["value"].clone())
    }

    /// A PNG of what the tab shows.
    pub async fn screenshot(&self) -> Result<Vec<u8>, BotError> {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await?;
        decode_data("Page.captureScreenshot", &shot["data"])
    }

    /// The document's HTML as the DOM holds it now (after scripts), for a failure report.
    pub async fn dom_snapshot(&self) -> Result<String, BotError> {
        let document = self.call("DOM.getDocument", json!({"depth": 0})).await?;
        let node = document["root"]["nodeId"].clone();
        let html = self
            .call("DOM.getOuterHTML", json!({"nodeId": node}))
            .await?;
        html["outerHTML"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BotError::Unexpected {
                method: "DOM.getOuterHTML".into(),
                detail: "no outerHTML".into(),
            })
    }

    /// Closes the tab.
    pub async fn close(&self) -> Result<(), BotError> {
        self.cdp
            .call(
                None,
                "Target.closeTarget",
                json!({"targetId": self.target_id}),
            )
            .await?;
        Ok(())
    }
}

fn decode_data(method: &str, data: &Value) -> Result<Vec<u8>, BotError> {
    data.as_str()
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .ok_or_else(|| BotError::Unexpected {
            method: method.into(),
            detail: "no base64 data".into(),
        })
}
