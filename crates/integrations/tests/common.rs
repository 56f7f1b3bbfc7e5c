//! Shared by the provider tests: items to send and a plain client for loopback.

#![allow(dead_code, clippy::unwrap_used)]

use chrono::NaiveDate;
use meetvault_integrations::{Item, ReqwestHttp, Summary, Task};

pub fn http() -> ReqwestHttp {
    ReqwestHttp::new().unwrap()
}

pub fn summary() -> Item {
    Item::Summary(Summary {
        title: "Weekly sync".into(),
        markdown:
            "## Overview\nWe agreed on the launch.\n\n## Action items\n- **Ana**: send the deck"
                .into(),
        link: "https://meetvault.example/meetings/m1".into(),
        attendee_emails: vec!["ana@customer.example".into(), "bo@customer.example".into()],
    })
}

pub fn task() -> Item {
    Item::Task(Task {
        title: "Send the deck".into(),
        notes: "From Weekly sync, said by Ana at 01:01.".into(),
        owner_email: Some("ana@acme.example".into()),
        due: NaiveDate::from_ymd_opt(2026, 12, 11),
        link: "https://meetvault.example/meetings/m1?t=61".into(),
    })
}

pub const KEY: &str = "mv-0123456789abcdef";
