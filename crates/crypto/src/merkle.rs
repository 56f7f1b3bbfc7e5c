//! RFC 9162 Merkle tree hashing for the audit log: leaf and node hashes, tree roots, inclusion and consistency proofs, and an incremental frontier.
//!
//! All functions take leaves that are already hashed with [`leaf_hash`], so a
//! caller that stores leaf hashes never needs the original entries again.

use sha2::{Digest, Sha256};

use crate::CryptoError;

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Root of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Hash of a log entry: `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(entry)
        .finalize()
        .into()
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// Merkle tree hash (MTH) over already-hashed leaves; the empty tree hashes to [`empty_root`].
pub fn root(leaves: &[Hash]) -> Hash {
    subtree_root(leaves)
}

/// Inclusion proof (audit path) for the leaf at `index`, ordered from the leaf's
/// sibling up to the root's child (RFC 9162 §2.1.3.1).
///
/// Returns `None` if `index` is not a leaf of the tree.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Option<Vec<Hash>> {
    let index = usize::try_from(index).ok()?;
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    audit_path(index, leaves, &mut proof);
    Some(proof)
}

/// Checks that `leaf` is the leaf at `index` of the tree of `tree_size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
///
/// The proof binds the leaf to `root`; only the root binds the size, so take
/// `tree_size` and `root` from the same signed checkpoint.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if index >= tree_size {
        return false;
    }
    let mut fnode = index;
    let mut snode = tree_size - 1;
    let mut computed = *leaf;
    for sibling in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            computed = node_hash(sibling, &computed);
            // On the right edge of an unbalanced tree a node has no right
            // sibling, so it is promoted through levels without hashing.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            computed = node_hash(&computed, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && computed == *root
}

/// Consistency proof that the tree of `old_size` leaves is a prefix of the tree of all
/// `leaves` (RFC 9162 §2.1.4.1).
///
/// Returns `None` if `old_size` exceeds the number of leaves, and an empty proof
/// when `old_size` is 0 or equal to the number of leaves.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Option<Vec<Hash>> {
    let old_size = usize::try_from(old_size).ok()?;
    if old_size > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    if old_size > 0 && old_size < leaves.len() {
        subproof(old_size, leaves, true, &mut proof);
    }
    Some(proof)
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree
/// of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. An empty old tree is a
/// prefix of every tree, but `old_root` must still be [`empty_root`] so a
/// caller cannot pass a stale root with size 0 by mistake.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    let Some((&first, rest)) = proof.split_first() else {
        return false;
    };
    // When the old tree is a perfect subtree of the new one the proof omits
    // its root, because the verifier already has it.
    let (start, path) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        (first, rest)
    };
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut old_computed = start;
    let mut new_computed = start;
    for node in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            old_computed = node_hash(node, &old_computed);
            new_computed = node_hash(node, &new_computed);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            new_computed = node_hash(&new_computed, node);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && old_computed == *old_root && new_computed == *new_root
}

/// Largest power of two strictly below `n`, the RFC 9162 split point; `n` must be at least 2.
fn split_point(n: usize) -> usize {
    let below = n.saturating_sub(1).max(1);
    1 << (usize::BITS - 1 - below.leading_zeros())
}

fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&subtree_root(left), &subtree_root(right))
        }
    }
}

fn audit_path(index: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    let (left, right) = leaves.split_at(k);
    if index < k {
        audit_path(index, left, out);
        out.push(subtree_root(right));
    } else {
        audit_path(index - k, right, out);
        out.push(subtree_root(left));
    }
}

/// RFC 9162 SUBPROOF; `old_is_prefix_root` is the spec's `b`: whether the old tree's
/// root is a node the verifier already knows and must not be repeated.
fn subproof(old_size: usize, leaves: &[Hash], old_is_prefix_root: bool, out: &mut Vec<Hash>) {
    if old_size == leaves.len() {
        if !old_is_prefix_root {
            out.push(subtree_root(leaves));
        }
        return;
    }
    let k = split_point(leaves.len());
    let (left, right) = leaves.split_at(k);
    if old_size <= k {
        subproof(old_size, left, old_is_prefix_root, out);
        out.push(subtree_root(right));
    } else {
        subproof(old_size - k, right, false, out);
        out.push(subtree_root(left));
    }
}

/// Right frontier of an append-only tree: the roots of its maximal perfect subtrees,
/// enough to compute the current root and to append in O(log n) without the leaves.
///
/// A writer persists [`Frontier::size`] and [`Frontier::nodes`] next to the log
/// and restores them with [`Frontier::from_parts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One root per set bit of `size`, largest subtree (leftmost) first.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// Frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a frontier saved from [`Frontier::size`] and [`Frontier::nodes`].
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Self, CryptoError> {
        if u64::try_from(nodes.len()).ok() != Some(u64::from(size.count_ones())) {
            return Err(CryptoError::MalformedFrontier(
                "node count must equal the number of set bits in the size",
            ));
        }
        Ok(Self { size, nodes })
    }

    /// Appends a leaf hash (already hashed with [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut size = self.size;
        // Each trailing one bit of the old size is a perfect subtree of the
        // same height as `node`, so they merge like a binary carry.
        while size & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            node = node_hash(&left, &node);
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the maximal perfect subtrees, leftmost first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Root of the tree of all leaves appended so far; equals [`root`] over the same leaves.
    pub fn root(&self) -> Hash {
        let mut from_right = self.nodes.iter().rev();
        match from_right.next() {
            None => empty_root(),
            Some(&last) => from_right.fold(last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests;
