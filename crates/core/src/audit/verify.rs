//! Verification of an audit log, from the database or from an export: every entry is re-hashed,
//! the sequence is checked for removals, insertions and reorderings, every checkpoint signature
//! is checked, every checkpoint root is recomputed from the entries, and each checkpoint is
//! proved consistent with the one before (RFC 9162 consistency proofs). Pure: no I/O.

use std::collections::BTreeMap;
use std::fmt;

use meetvault_crypto::merkle::{self, Hash};
use meetvault_crypto::note::{Checkpoint, NoteVerifier};
use serde::Serialize;

use super::entry::Entry;

/// One log position as read back: the entry text when it is visible to the verifier (a leaf of
/// another tenant in an export carries only its hash), the stored leaf hash, and for database
/// rows the indexed columns, which must agree with the hashed entry.
#[derive(Debug, Clone)]
pub struct LogItem {
    pub seq: i64,
    pub entry: Option<String>,
    pub leaf_hash: Vec<u8>,
    pub columns: Option<Columns>,
}

/// The columns of a database row that filters read; each must say what the entry says.
#[derive(Debug, Clone)]
pub struct Columns {
    pub time: String,
    pub org: Option<String>,
    pub action: String,
    pub actor: String,
    pub resource: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    Removed { seq: i64 },
    Inserted { seq: i64, detail: String },
    Reordered { position: i64, found: i64 },
    Edited { seq: i64, detail: String },
    BadSignature { checkpoint: usize, detail: String },
    CheckpointMismatch { tree_size: u64 },
    Inconsistent { from: u64, to: u64 },
    CheckpointBeyondLog { tree_size: u64, log_size: u64 },
}

impl Problem {
    /// The log position this problem is first visible at, for ordering.
    fn position(&self) -> i64 {
        match self {
            Self::Removed { seq } | Self::Inserted { seq, .. } | Self::Edited { seq, .. } => *seq,
            Self::Reordered { position, .. } => *position,
            Self::CheckpointMismatch { tree_size }
            | Self::CheckpointBeyondLog { tree_size, .. } => {
                i64::try_from(*tree_size).unwrap_or(i64::MAX)
            }
            Self::Inconsistent { to, .. } => i64::try_from(*to).unwrap_or(i64::MAX),
            Self::BadSignature { .. } => i64::MAX,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Removed { seq } => write!(f, "entry {seq} was removed"),
            Self::Inserted { seq, detail } => write!(f, "an entry was inserted at {seq}: {detail}"),
            Self::Reordered { position, found } => {
                write!(
                    f,
                    "entries were reordered: position {position} holds entry {found}"
                )
            }
            Self::Edited { seq, detail } => write!(f, "entry {seq} was edited: {detail}"),
            Self::BadSignature { checkpoint, detail } => {
                write!(
                    f,
                    "checkpoint #{checkpoint} has no valid signature: {detail}"
                )
            }
            Self::CheckpointMismatch { tree_size } => write!(
                f,
                "the signed checkpoint at size {tree_size} does not match the entries: an entry at \
                 or before {tree_size} was edited, removed, inserted or reordered"
            ),
            Self::Inconsistent { from, to } => write!(
                f,
                "checkpoint {to} is not consistent with checkpoint {from}: history was rewritten"
            ),
            Self::CheckpointBeyondLog {
                tree_size,
                log_size,
            } => write!(
                f,
                "a signed checkpoint covers {tree_size} entries but the log holds {log_size}: \
                 entries were removed from the end"
            ),
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub entries: u64,
    pub checkpoints: usize,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    /// The problem nearest the start of the log (a signature failure ranks last).
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.iter().min_by_key(|p| p.position())
    }
}

/// Verifies `items` (in the order they were read) and the signed `checkpoints` (note texts).
pub fn verify(items: &[LogItem], checkpoints: &[String], verifier: &NoteVerifier) -> Report {
    let mut problems = Vec::new();

    // Sequence: each position once, in order, none missing.
    let mut by_seq: BTreeMap<i64, &LogItem> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let position = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1);
        if by_seq.insert(item.seq, item).is_some() {
            problems.push(Problem::Inserted {
                seq: item.seq,
                detail: "two entries share this sequence number".into(),
            });
        } else if item.seq != position && items.iter().any(|o| o.seq == position) {
            problems.push(Problem::Reordered {
                position,
                found: item.seq,
            });
        }
    }
    let max_seq = by_seq.keys().next_back().copied().unwrap_or(0);
    for seq in 1..=max_seq {
        if !by_seq.contains_key(&seq) {
            problems.push(Problem::Removed { seq });
        }
    }

    // Leaves: re-hash every visible entry; it must agree with its stored hash and columns.
    let mut leaves: Vec<Hash> = Vec::with_capacity(by_seq.len());
    for (seq, item) in &by_seq {
        let leaf = match &item.entry {
            Some(text) => {
                let leaf = merkle::leaf_hash(text.as_bytes());
                if leaf.as_slice() != item.leaf_hash.as_slice() {
                    problems.push(Problem::Edited {
                        seq: *seq,
                        detail: "its content no longer matches its recorded leaf hash".into(),
                    });
                }
                match Entry::parse(text) {
                    Ok(entry) if entry.seq != *seq => problems.push(Problem::Inserted {
                        seq: *seq,
                        detail: format!("the entry stored here was written as entry {}", entry.seq),
                    }),
                    Ok(entry) => {
                        if let Some(cols) = &item.columns
                            && let Some(field) = column_mismatch(&entry, cols)
                        {
                            problems.push(Problem::Edited {
                                seq: *seq,
                                detail: format!("column `{field}` differs from the hashed entry"),
                            });
                        }
                    }
                    Err(e) => problems.push(Problem::Edited {
                        seq: *seq,
                        detail: format!("the entry is not valid JSON of the audit format ({e})"),
                    }),
                }
                leaf
            }
            None => match <Hash>::try_from(item.leaf_hash.as_slice()) {
                Ok(h) => h,
                Err(_) => {
                    problems.push(Problem::Edited {
                        seq: *seq,
                        detail: "its leaf hash is not 32 bytes".into(),
                    });
                    [0u8; 32]
                }
            },
        };
        leaves.push(leaf);
    }

    // Checkpoints: signature, root against the entries, consistency with the previous one.
    let log_size = leaves.len() as u64;
    let mut previous: Option<Checkpoint> = None;
    let mut parsed: Vec<Checkpoint> = Vec::new();
    for (i, note) in checkpoints.iter().enumerate() {
        let text = match verifier.verify(note) {
            Ok(text) => text,
            Err(e) => {
                problems.push(Problem::BadSignature {
                    checkpoint: i + 1,
                    detail: e.to_string(),
                });
                continue;
            }
        };
        match Checkpoint::parse(&text) {
            Ok(cp) => parsed.push(cp),
            Err(e) => problems.push(Problem::BadSignature {
                checkpoint: i + 1,
                detail: e.to_string(),
            }),
        }
    }
    parsed.sort_by_key(|c| c.size);
    for cp in parsed {
        if cp.size > log_size {
            problems.push(Problem::CheckpointBeyondLog {
                tree_size: cp.size,
                log_size,
            });
        } else {
            let prefix = leaves.get(..cp.size as usize).unwrap_or(&[]);
            if merkle::root(prefix) != cp.root {
                problems.push(Problem::CheckpointMismatch { tree_size: cp.size });
            } else if let Some(prev) = &previous {
                let proof = merkle::consistency_proof(prefix, prev.size).unwrap_or_default();
                if !merkle::verify_consistency(prev.size, cp.size, &prev.root, &cp.root, &proof) {
                    problems.push(Problem::Inconsistent {
                        from: prev.size,
                        to: cp.size,
                    });
                }
            }
        }
        previous = Some(cp);
    }

    Report {
        entries: log_size,
        checkpoints: checkpoints.len(),
        problems,
    }
}

fn column_mismatch(e: &Entry, c: &Columns) -> Option<&'static str> {
    if e.time != c.time {
        return Some("created_at");
    }
    if e.org != c.org {
        return Some("org_id");
    }
    if e.action != c.action {
        return Some("action");
    }
    if e.actor != c.actor {
        return Some("actor");
    }
    if e.resource != c.resource {
        return Some("resource");
    }
    if e.outcome != c.outcome {
        return Some("outcome");
    }
    if e.reason != c.reason {
        return Some("reason");
    }
    None
}
