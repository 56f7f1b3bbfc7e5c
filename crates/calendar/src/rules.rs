//! Auto-join rules, pure: whether a bot should record an event, and the key under which the
//! server schedules one bot for everyone invited to the same meeting.

use crate::event::{Event, EventStatus, ResponseStatus, email_domain};

/// Which events a user's bot joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every event with a meeting link.
    #[default]
    All,
    /// Only events the user organizes.
    OnlyOrganizer,
    /// Only events with someone outside the user's own domains.
    OnlyExternal,
}

/// A user's auto-join rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Which events.
    pub mode: Mode,
    /// Never join an event whose title contains one of these (case-insensitive, Unicode).
    pub never_keywords: Vec<String>,
    /// Never join an event with an attendee from one of these domains (or their subdomains).
    pub never_domains: Vec<String>,
    /// The organisation's own domains (and their subdomains), for [`Mode::OnlyExternal`].
    pub own_domains: Vec<String>,
}

/// A per-event choice of the user that beats the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// Record it (if it can be joined at all).
    Always,
    /// Do not record it.
    Never,
}

/// Why [`decide`] decided as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The event is cancelled.
    Cancelled,
    /// No Meet, Zoom or Teams link.
    NoConferenceLink,
    /// The user said never for this event.
    OverrideNever,
    /// The user said always for this event.
    OverrideAlways,
    /// The user declined.
    Declined,
    /// An all-day event.
    AllDay,
    /// The title contains a never-keyword.
    KeywordExcluded,
    /// An attendee is from a never-domain.
    DomainExcluded,
    /// [`Mode::OnlyOrganizer`] and the user does not organize it.
    NotOrganizer,
    /// [`Mode::OnlyExternal`] and everyone is internal.
    NoExternalAttendee,
    /// The rules say record.
    Matched,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether to record.
    pub record: bool,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    fn skip(reason: Reason) -> Self {
        Self {
            record: false,
            reason,
        }
    }
}

fn domain_matches(domain: &str, rule: &str) -> bool {
    let rule = rule
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_lowercase();
    !rule.is_empty()
        && (domain == rule
            || domain
                .strip_suffix(rule.as_str())
                .is_some_and(|head| head.ends_with('.')))
}

/// Decides whether to record `event` for the user `user_email`. A cancelled event or one
/// without a recognised link can never be recorded; an override beats everything else; then
/// declined, all-day, keywords, domains and the mode, in that order.
pub fn decide(
    event: &Event,
    user_email: &str,
    rules: &Rules,
    override_: Option<Override>,
) -> Decision {
    if event.status == EventStatus::Cancelled {
        return Decision::skip(Reason::Cancelled);
    }
    if event.conference.is_none() {
        return Decision::skip(Reason::NoConferenceLink);
    }
    match override_ {
        Some(Override::Never) => return Decision::skip(Reason::OverrideNever),
        Some(Override::Always) => {
            return Decision {
                record: true,
                reason: Reason::OverrideAlways,
            };
        }
        None => {}
    }
    let is_user = |email: &str| email.trim().eq_ignore_ascii_case(user_email.trim());
    let declined = event.declined
        || event
            .attendees
            .iter()
            .any(|a| (a.is_self || is_user(&a.email)) && a.response == ResponseStatus::Declined);
    if declined {
        return Decision::skip(Reason::Declined);
    }
    if event.all_day {
        return Decision::skip(Reason::AllDay);
    }
    let title = event.title.to_lowercase();
    if rules
        .never_keywords
        .iter()
        .map(|k| k.trim().to_lowercase())
        .any(|k| !k.is_empty() && title.contains(&k))
    {
        return Decision::skip(Reason::KeywordExcluded);
    }
    let domains: Vec<String> = event
        .attendees
        .iter()
        .filter_map(|a| a.domain())
        .chain(event.organizer_email.as_deref().and_then(email_domain))
        .collect();
    if domains
        .iter()
        .any(|d| rules.never_domains.iter().any(|r| domain_matches(d, r)))
    {
        return Decision::skip(Reason::DomainExcluded);
    }
    match rules.mode {
        Mode::All => {}
        Mode::OnlyOrganizer => {
            let organizer =
                event.organizer_is_self || event.organizer_email.as_deref().is_some_and(is_user);
            if !organizer {
                return Decision::skip(Reason::NotOrganizer);
            }
        }
        Mode::OnlyExternal => {
            let external = event
                .attendees
                .iter()
                .filter(|a| !a.resource)
                .filter_map(|a| a.domain())
                .chain(event.organizer_email.as_deref().and_then(email_domain))
                .any(|d| !rules.own_domains.iter().any(|own| domain_matches(&d, own)));
            if !external {
                return Decision::skip(Reason::NoExternalAttendee);
            }
        }
    }
    Decision {
        record: true,
        reason: Reason::Matched,
    }
}

/// The key that names "this meeting at this time" across users: the normalised meeting
/// identity (Meet code, Zoom number, Teams thread) and the start instant, e.g.
/// `meet:abc-defg-hij@2024-05-01T08:00:00Z`. Two colleagues invited to the same meeting get the
/// same key, so the server schedules one bot; instances of a recurring meeting differ by
/// start. `None` without a recognised link (such an event is never recorded).
pub fn dedupe_key(event: &Event) -> Option<String> {
    let link = event.conference.as_ref()?;
    let start = event
        .start
        .instant()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Some(format!("{}@{start}", link.key))
}

#[cfg(test)]
mod tests;
