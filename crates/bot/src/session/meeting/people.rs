//! Who is in the meeting and what they say: the participant list (joins and leaves, the bot
//! itself left out), tracks tied to participants, chat messages, and opt-outs.

use std::collections::BTreeMap;

use meetvault_recipe::TrackMapping;
use serde_json::Value;
use tokio::time::Instant;

use super::{Meeting, Participant, Track};
use crate::TrackKey;
use crate::session::{BotEvent, Reporter};

/// A chat message's dedupe key as the server takes it (1–128 of letters, digits and `_-.:@`):
/// the page's key when it already is one, else `h:` and 32 hex digits of its SHA-256 (a
/// recipe's key joins attributes with `|`; the fallback is JSON of sender and text).
pub(crate) fn chat_key(raw: &str) -> String {
    let plain = (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'));
    if plain {
        return raw.to_owned();
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(raw.as_bytes());
    format!("h:{}", hex::encode(&digest[..16]))
}

impl<R: Reporter> Meeting<R> {
    pub(super) async fn update_participants(&mut self, list: &Value) {
        let Some(list) = list.as_array() else {
            return;
        };
        let mut now: BTreeMap<String, Participant> = BTreeMap::new();
        for p in list {
            let Some(id) = p["id"].as_str() else { continue };
            now.insert(
                id.to_owned(),
                Participant {
                    name: p["name"].as_str().unwrap_or_default().to_owned(),
                    stream_id: p["stream_id"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                },
            );
        }
        // The bot itself: the first entry under its name (kept once found).
        if self.self_id.as_ref().is_none_or(|id| !now.contains_key(id)) {
            self.self_id = now
                .iter()
                .find(|(_, p)| p.name == self.spec.bot_name)
                .map(|(id, _)| id.clone());
        }
        if let Some(me) = &self.self_id {
            now.remove(me);
        }
        for (id, p) in &now {
            if !self.participants.contains_key(id) {
                self.reporter
                    .event(BotEvent::ParticipantJoined {
                        id: id.clone(),
                        name: p.name.clone(),
                    })
                    .await;
            }
        }
        let gone: Vec<(String, Participant)> = self
            .participants
            .iter()
            .filter(|(id, _)| !now.contains_key(*id))
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        for (id, p) in gone {
            self.reporter
                .event(BotEvent::ParticipantLeft { id, name: p.name })
                .await;
        }
        if now.is_empty() {
            self.alone_since.get_or_insert_with(Instant::now);
        } else {
            self.seen_others = true;
            self.alone_since = None;
        }
        self.participants = now;
    }

    /// Ties tracks not yet mapped to the participants the recipe says they are.
    pub(super) async fn map_tracks(&mut self) {
        let mut found = Vec::new();
        match self.recipe.file().tracks {
            TrackMapping::StreamIdAttribute => {
                for (key, track) in &self.tracks {
                    if track.participant.is_some() {
                        continue;
                    }
                    let owner = self
                        .participants
                        .iter()
                        .find(|(_, p)| p.stream_id.is_some() && p.stream_id == track.stream_id);
                    if let Some((id, _)) = owner {
                        found.push((key.clone(), id.clone()));
                    }
                }
            }
            TrackMapping::DomOrder => {
                let mut keys: Vec<(&TrackKey, &Track)> = self.tracks.iter().collect();
                keys.sort_by_key(|(_, t)| t.started);
                for ((key, track), (id, _)) in keys.into_iter().zip(&self.participants) {
                    if track.participant.is_none() {
                        found.push((key.clone(), id.clone()));
                    }
                }
            }
            // Mixed tracks: the server attributes them through the active-speaker events.
            _ => {}
        }
        for (key, participant) in found {
            if let Some(track) = self.tracks.get_mut(&key) {
                track.participant = Some(participant.clone());
            }
            self.reporter
                .event(BotEvent::TrackMapped {
                    track: key.clone(),
                    participant_id: participant.clone(),
                })
                .await;
            if self.opted_out.contains(&participant) {
                self.stop(&key);
            }
        }
    }

    pub(super) async fn on_chat(&mut self, message: &Value) {
        let Some(id) = message["id"].as_str() else {
            return;
        };
        if !self.chat_seen.insert(id.to_owned()) {
            return;
        }
        let sender = message["sender"].as_str().unwrap_or_default().to_owned();
        let text = message["text"].as_str().unwrap_or_default().to_owned();
        let sender_id = message["sender_id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        // Who sent it, as a participant id: the platform's sender id, or the name.
        let participant = sender_id.clone().or_else(|| {
            self.participants
                .iter()
                .find(|(_, p)| p.name == sender)
                .map(|(id, _)| id.clone())
        });
        let is_self = participant.is_some() && participant == self.self_id;
        if let Some(who) = &participant
            && self.opted_out.contains(who)
        {
            return;
        }
        if !is_self
            && text
                .trim()
                .eq_ignore_ascii_case(self.spec.opt_out_phrase.trim())
        {
            if let Some(who) = participant {
                self.opt_out(who).await;
            } else {
                tracing::warn!("an opt-out from a sender the page does not identify");
            }
            return;
        }
        self.reporter
            .event(BotEvent::ChatMessage {
                id: chat_key(id),
                sender,
                sender_id,
                text,
            })
            .await;
    }

    /// Excludes `participant` from now on: their tracks stop, what waits of them is dropped.
    async fn opt_out(&mut self, participant: String) {
        if !self.opted_out.insert(participant.clone()) {
            return;
        }
        let theirs: Vec<TrackKey> = self
            .tracks
            .iter()
            .filter(|(_, t)| t.participant.as_ref() == Some(&participant))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &theirs {
            self.stop(key);
        }
        tracing::info!(tracks = theirs.len(), "a participant opted out");
        self.reporter
            .event(BotEvent::ParticipantOptedOut {
                participant_id: participant,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::chat_key;

    #[test]
    fn a_chat_key_is_always_one_the_server_takes_and_stays_distinct() {
        assert_eq!(chat_key("p1:1733"), "p1:1733");
        let joined = chat_key("p1|1733412345678");
        let json = chat_key(r#"["Ada","hello, there"]#1"#);
        let long = chat_key(&"x".repeat(129));
        for k in [&joined, &json, &long] {
            assert!(k.starts_with("h:") && k.len() == 34, "{k}");
        }
        assert_ne!(joined, chat_key("p1|1733412345679"));
        assert_eq!(json, chat_key(r#"["Ada","hello, there"]#1"#));
        assert_ne!(chat_key(""), "");
    }
}
