//! A bounded, short-lived cache of unwrapped user and meeting keys (the API's hot path: a page
//! of 20 meetings opened 20 meeting keys and their owners' keys on every request).
//!
//! Safe because of how it is looked up, not because of invalidation messages:
//! - An entry is found only by the wrapped key **just read from the database** in the same
//!   request (org, row, version and the wrapped bytes must all match). A crypto-shred deletes
//!   the rows, so no instance can look its key up again, at once; a re-wrap (rotation, a change
//!   of mode) changes the bytes, so the old entry is never matched again.
//! - Only keys of owners in `org` mode are cached, checked against the owner's row read in
//!   the same statement: a zero-access user's key, and every meeting key under it, is never
//!   cached (it lives only in the owner's unlocked session, as before).
//! - Keyed by org: nothing is shared across tenants.
//! - Bounded: at most [`CAPACITY`] entries per cache, each for at most [`TTL`]; the oldest go
//!   first. An evicted key is zeroized when its last user drops it (`SymmetricKey` zeroizes on
//!   drop).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meetvault_crypto::keys::SymmetricKey;
use uuid::Uuid;

/// Entries per cache (about 200 bytes each with the wrapped bytes: a few MB at most).
pub(crate) const CAPACITY: usize = 8192;
/// How long an unwrapped key may stay in memory after it was opened.
pub(crate) const TTL: Duration = Duration::from_secs(60);

/// (org, the row's id — a user or a meeting —, the key version).
type Slot = (Uuid, Uuid, i32);

struct Entry {
    wrapped: Vec<u8>,
    key: Arc<SymmetricKey>,
    at: Instant,
    /// Which insertion this is (to skip stale places in `order`).
    serial: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Slot, Entry>,
    order: VecDeque<(Slot, u64)>,
    serial: u64,
}

/// One cache (user keys, or meeting keys).
#[derive(Default)]
pub(crate) struct KeyCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// The key opened from exactly `wrapped` at this slot, if it is held and fresh.
    pub(crate) fn get(
        &self,
        org: Uuid,
        id: Uuid,
        version: i32,
        wrapped: &[u8],
    ) -> Option<Arc<SymmetricKey>> {
        let inner = self.inner.lock().ok()?;
        let e = inner.map.get(&(org, id, version))?;
        (e.wrapped == wrapped && e.at.elapsed() < TTL).then(|| e.key.clone())
    }

    /// Holds `key`, opened from `wrapped`, for at most [`TTL`].
    pub(crate) fn put(
        &self,
        org: Uuid,
        id: Uuid,
        version: i32,
        wrapped: &[u8],
        key: Arc<SymmetricKey>,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let inner = &mut *inner;
        // The oldest first: whatever is past its time, then whatever is over the bound.
        while let Some(&(slot, serial)) = inner.order.front() {
            let stale = match inner.map.get(&slot) {
                Some(e) if e.serial == serial => {
                    e.at.elapsed() >= TTL || inner.map.len() >= CAPACITY
                }
                // Replaced or forgotten since: only its place in the queue is left.
                _ => true,
            };
            if !stale {
                break;
            }
            inner.order.pop_front();
            if inner.map.get(&slot).is_some_and(|e| e.serial == serial) {
                inner.map.remove(&slot);
            }
        }
        inner.serial += 1;
        let serial = inner.serial;
        let slot = (org, id, version);
        inner.map.insert(
            slot,
            Entry {
                wrapped: wrapped.to_vec(),
                key,
                at: Instant::now(),
                serial,
            },
        );
        inner.order.push_back((slot, serial));
        if inner.order.len() > 2 * CAPACITY {
            // Places of replaced or forgotten entries, piled up behind a fresh one.
            let map = &inner.map;
            inner
                .order
                .retain(|(slot, serial)| map.get(slot).is_some_and(|e| e.serial == *serial));
        }
    }

    /// Drops every version held for `id` (a shredded meeting, a user whose mode changed).
    pub(crate) fn forget(&self, org: Uuid, id: Uuid) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.retain(|(o, i, _), _| !(*o == org && *i == id));
        }
    }

    /// Drops everything held for an org (its keys rotated or erased).
    pub(crate) fn forget_org(&self, org: Uuid) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.retain(|(o, _, _), _| *o != org);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Arc<SymmetricKey> {
        Arc::new(SymmetricKey::from_bytes([b; 32]))
    }

    #[test]
    fn found_only_by_the_same_wrapped_bytes_at_the_same_slot() {
        let c = KeyCache::default();
        let (org, other_org, id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        c.put(org, id, 1, b"wrapped-1", key(1));
        assert!(c.get(org, id, 1, b"wrapped-1").is_some());
        // Re-wrapped (rotation, another mode): not matched.
        assert!(c.get(org, id, 1, b"wrapped-2").is_none());
        // Another version, another org (never shared across tenants).
        assert!(c.get(org, id, 2, b"wrapped-1").is_none());
        assert!(c.get(other_org, id, 1, b"wrapped-1").is_none());
        c.forget(org, id);
        assert!(c.get(org, id, 1, b"wrapped-1").is_none());
        c.put(org, id, 1, b"wrapped-1", key(1));
        c.forget_org(org);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded_the_oldest_going_first() {
        let c = KeyCache::default();
        let org = Uuid::new_v4();
        let ids: Vec<Uuid> = (0..CAPACITY + 10).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            c.put(org, *id, 1, b"w", key(7));
        }
        assert!(c.len() <= CAPACITY, "{}", c.len());
        assert!(c.get(org, ids[0], 1, b"w").is_none(), "the oldest went");
        assert!(c.get(org, *ids.last().unwrap(), 1, b"w").is_some());
        // A slot written again keeps one entry (its old place in the queue is skipped).
        let again = *ids.last().unwrap();
        c.put(org, again, 1, b"w2", key(8));
        assert!(c.get(org, again, 1, b"w2").is_some());
        assert!(c.len() <= CAPACITY);
    }

    #[test]
    fn an_evicted_key_is_dropped_when_its_last_user_lets_go() {
        let c = KeyCache::default();
        let org = Uuid::new_v4();
        let first = key(9);
        let weak = Arc::downgrade(&first);
        c.put(org, Uuid::new_v4(), 1, b"w", first);
        for _ in 0..CAPACITY {
            c.put(org, Uuid::new_v4(), 1, b"w", key(1));
        }
        // Evicted and unused: dropped, so `SymmetricKey`'s ZeroizeOnDrop has run.
        assert!(weak.upgrade().is_none());
    }
}
