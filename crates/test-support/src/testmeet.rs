//! Driving a testmeet page as a person would, from a [`Page`]: ask to join under a name and
//! wait for the page's state, and, as the host, admit or deny someone waiting in the lobby. The
//! selectors are testmeet's page contract (`crates/testmeet/static/room.html`).

use std::time::Duration;

use serde_json::Value;

use crate::browser::Page;

/// `s` as a JavaScript string literal.
pub fn js(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// On `page` (already on a room's pre-join screen), runs `setup` (JavaScript, e.g. a click on
/// `#mic-toggle`; empty for none), fills in `name`, presses Join and waits up to `limit` for
/// the page's `data-state` to be `state` (`joined`, `lobby`).
pub async fn join(page: &Page, name: &str, setup: &str, state: &str, limit: Duration) {
    page.evaluate(&format!(
        "{setup} document.querySelector('#name').value = {}; document.querySelector('#join').click(); true",
        js(name)
    ))
    .await;
    page.wait_for(
        &format!("{name} to reach {state}"),
        &format!("document.body.dataset.state === {}", js(state)),
        limit,
    )
    .await;
}

/// On the host's `page`, waits up to `limit` for `name` in the lobby list and presses `button`
/// beside it (`admit` or `deny`).
pub async fn lobby_decide(host: &Page, name: &str, button: &str, limit: Duration) {
    let li = format!(
        "[...document.querySelectorAll('#lobby-list li')].find(li => li.querySelector('.name').textContent === {})",
        js(name)
    );
    host.wait_for(&format!("{name} in the lobby"), &format!("!!{li}"), limit)
        .await;
    host.evaluate(&format!(
        "{li}.querySelector('button.{button}').click(); true"
    ))
    .await;
}
