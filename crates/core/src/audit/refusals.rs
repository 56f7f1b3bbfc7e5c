//! Refused attempts, aggregated. A refusal (a rate-limited or failed login, a bad or revoked key,
//! a 403, a CSRF refusal, a failed invitation accept or recovery) is grouped with the others of
//! its kind — same action, reason, org, actor, subject, resource and client address — for
//! `audit.refusal_window_secs`: the first is written at once (count 1), the rest only counted,
//! and one summary entry carrying their count is written when the window closes. So a flood of
//! refusals costs two entries per group and window, not one per request, and the counts of the
//! entries still add up to every refusal. The map is bounded: past [`MAX_GROUPS`] open groups, new
//! sources are counted together in one overflow group per (action, reason, org), without
//! personal data. Kept in memory per instance; `AuditWriter` flushes it on its tick and at
//! shutdown. Successful events never come here: each stays one entry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::AuditAction;
use super::{Event, Outcome};
use crate::access::{Actor, Principal, RequestMeta};
use crate::ids::{OrgId, UserId};
use crate::{Core, CoreError};

/// The most groups open at once before new sources fall into the overflow group.
pub const MAX_GROUPS: usize = 256;

/// What makes two refusals "the same" (never written anywhere; the IP is kept in memory only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    action: AuditAction,
    reason: Option<&'static str>,
    org: Option<OrgId>,
    actor: String,
    subject: Option<UserId>,
    resource: Option<String>,
    /// The client network (an IPv6 address by its /64, which one client usually holds whole),
    /// or `None` for the overflow group.
    source: Option<String>,
}

#[derive(Debug)]
struct Group {
    opened: Instant,
    /// The first refusal, which the summary repeats (with its personal data) with a count.
    event: Event,
    /// Refusals after the first, not yet written.
    more: u64,
}

#[derive(Debug)]
pub(crate) struct RefusalLog {
    window: Duration,
    groups: Mutex<HashMap<GroupKey, Group>>,
}

impl RefusalLog {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one refusal; returns what must be written now: the refusal itself when it opens a
    /// window (after the summary of an expired window of the same group, if it had one).
    fn note(&self, event: Event, now: Instant) -> Vec<Event> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = key_of(&event);
        let mut event = event;
        if !groups.contains_key(&key) && groups.len() >= MAX_GROUPS {
            event = overflow(&event);
            key = key_of(&event);
            key.source = None;
        }
        let mut out = Vec::new();
        if let Some(group) = groups.get_mut(&key) {
            if now.duration_since(group.opened) < self.window {
                group.more += 1;
                return out;
            }
            if let Some(group) = groups.remove(&key)
                && let Some(summary) = summary(group)
            {
                out.push(summary);
            }
        }
        let mut first = event.clone();
        first.count = Some(1);
        out.push(first);
        groups.insert(
            key,
            Group {
                opened: now,
                event,
                more: 0,
            },
        );
        out
    }

    /// Closes the groups whose window has ended (every group when `all`), returning the
    /// summaries to write.
    fn close(&self, now: Instant, all: bool) -> Vec<Event> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let closed: Vec<GroupKey> = groups
            .iter()
            .filter(|(_, g)| all || now.duration_since(g.opened) >= self.window)
            .map(|(k, _)| k.clone())
            .collect();
        closed
            .into_iter()
            .filter_map(|k| groups.remove(&k))
            .filter_map(summary)
            .collect()
    }
}

fn summary(group: Group) -> Option<Event> {
    (group.more > 0).then(|| {
        let mut event = group.event;
        event.count = Some(group.more);
        event
    })
}

fn key_of(event: &Event) -> GroupKey {
    GroupKey {
        action: event.action,
        reason: event.reason,
        org: event.org_id,
        actor: event.actor.to_string(),
        subject: event.subject,
        resource: event.resource.clone(),
        source: Some(
            event
                .personal
                .ip
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .map(network)
                .unwrap_or_default(),
        ),
    }
}

/// An IPv4 address as itself, an IPv6 address as its /64.
fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The overflow stand-in for a refusal: who and from where are dropped, what and why are kept.
fn overflow(event: &Event) -> Event {
    let mut e = Event::new(event.action, Actor::Anonymous, Outcome::Failure);
    e.org_id = event.org_id;
    e.reason = event.reason;
    e
}

impl Core {
    /// Records a refused attempt through the refusal log (see the module doc). Its error fails
    /// the request, like every audit append.
    pub(crate) async fn audit_refusal(&self, mut event: Event) -> Result<(), CoreError> {
        event.outcome = Outcome::Failure;
        for e in self.refusals().note(event, Instant::now()) {
            self.audit(e).await?;
        }
        Ok(())
    }

    /// Writes the summaries of the refusal windows that have closed (all of them when `all`,
    /// at shutdown). A failure is logged; the counts it held are lost with it.
    pub(crate) async fn flush_refusals(&self, all: bool) {
        for event in self.refusals().close(Instant::now(), all) {
            if let Err(e) = self.audit(event).await {
                tracing::error!(error = %e, "writing an aggregated refusal to the audit log failed");
            }
        }
    }
}

impl super::AuditLog<'_> {
    /// Records a request refused at the edge (`auth.refused`): an authenticated caller's 403
    /// or CSRF refusal, or an anonymous one. `what` names the refused route.
    pub async fn refused_request(
        self,
        principal: Option<&Principal>,
        meta: &RequestMeta,
        reason: &'static str,
        what: String,
    ) -> Result<(), CoreError> {
        let mut event = Event::refusal(AuditAction::AuthRefused, reason, meta);
        event.actor = principal.map_or(Actor::Anonymous, Principal::actor);
        event.org_id = principal.map(|p| p.org_id);
        event.subject = principal.map(|p| p.user_id);
        event.resource = Some(what);
        self.core.audit_refusal(event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(ip: &str) -> Event {
        let mut e = Event::new(AuditAction::AuthLogin, Actor::Anonymous, Outcome::Failure);
        e.reason = Some("rate_limited");
        e.personal.ip = Some(ip.to_owned());
        e
    }

    #[test]
    fn a_window_writes_its_first_refusal_and_one_summary_with_the_count() {
        let log = RefusalLog::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let mut written = Vec::new();
        for i in 0..300 {
            written.extend(log.note(refusal("192.0.2.7"), t0 + Duration::from_millis(i)));
        }
        assert_eq!(written.len(), 1, "only the first is written at once");
        assert_eq!(written[0].count, Some(1));
        assert!(log.close(t0 + Duration::from_secs(30), false).is_empty());
        let summaries = log.close(t0 + Duration::from_secs(60), false);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].count, Some(299));
        assert_eq!(summaries[0].reason, Some("rate_limited"));
        assert_eq!(summaries[0].personal.ip.as_deref(), Some("192.0.2.7"));
        assert!(log.close(t0 + Duration::from_secs(120), true).is_empty());
    }

    #[test]
    fn a_refusal_after_the_window_writes_the_summary_and_opens_a_new_one() {
        let log = RefusalLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        log.note(refusal("192.0.2.7"), t0);
        log.note(refusal("192.0.2.7"), t0 + Duration::from_secs(1));
        let out = log.note(refusal("192.0.2.7"), t0 + Duration::from_secs(11));
        assert_eq!(
            out.iter().map(|e| e.count).collect::<Vec<_>>(),
            vec![Some(1), Some(1)],
            "the old window's summary (one more), then the new window's first"
        );
    }

    #[test]
    fn a_flood_of_sources_collapses_into_one_overflow_group_without_personal_data() {
        let log = RefusalLog::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let mut written = Vec::new();
        for i in 0..(MAX_GROUPS as u32 + 1000) {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            written.extend(log.note(refusal(&ip), t0));
        }
        assert_eq!(written.len(), MAX_GROUPS + 1);
        let overflow = written.last().unwrap();
        assert!(overflow.personal.is_empty() && overflow.actor == Actor::Anonymous);
        let summaries = log.close(t0, true);
        let counted: u64 =
            written.len() as u64 + summaries.iter().filter_map(|e| e.count).sum::<u64>();
        assert_eq!(
            counted,
            MAX_GROUPS as u64 + 1000,
            "every refusal is counted once"
        );
    }

    #[test]
    fn ipv6_sources_are_grouped_by_their_64() {
        let log = RefusalLog::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(log.note(refusal("2001:db8:1:2::1"), t0).len(), 1);
        assert!(log.note(refusal("2001:db8:1:2:ffff::9"), t0).is_empty());
        assert_eq!(log.note(refusal("2001:db8:1:3::1"), t0).len(), 1);
    }
}
