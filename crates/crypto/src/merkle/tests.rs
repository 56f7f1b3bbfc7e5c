//! Tests for the Merkle module: published RFC 6962 vectors plus exhaustive proof checks on small trees.

use super::*;

fn h(hex_str: &str) -> Hash {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

// Reference tree used by the certificate-transparency and transparency-dev test
// suites: github.com/transparency-dev/merkle testonly/constants.go
// (LeafInputs, RootHashes) and proof/verify_test.go (inclusionProofs,
// consistencyProofs), originally from google/certificate-transparency.
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots for tree sizes 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|input| leaf_hash(&hex::decode(input).unwrap()))
        .collect()
}

fn synthetic_leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Length of the audit path for `index` in a tree of `size` leaves, computed
/// from the shape alone so the exhaustive tests stay fast.
fn path_len(index: usize, size: usize) -> usize {
    if size <= 1 {
        return 0;
    }
    let k = split_point(size);
    if index < k {
        1 + path_len(index, k)
    } else {
        1 + path_len(index - k, size - k)
    }
}

fn flip(hash: &Hash) -> Hash {
    let mut out = *hash;
    out[0] ^= 0x10;
    out
}

#[test]
fn empty_tree_root_is_sha256_of_empty_string() {
    assert_eq!(root(&[]), h(ROOTS[0]));
    assert_eq!(empty_root(), h(ROOTS[0]));
    assert_eq!(Frontier::new().root(), h(ROOTS[0]));
}

#[test]
fn roots_match_reference_vectors_for_every_size() {
    let leaves = reference_leaves();
    for (size, expected) in ROOTS.iter().enumerate() {
        assert_eq!(root(&leaves[..size]), h(expected), "size {size}");
    }
}

#[test]
fn reference_inclusion_proofs() {
    let leaves = reference_leaves();
    // (index, tree size, proof); the upstream vectors number leaves from 1.
    let vectors: [(u64, usize, Vec<&str>); 5] = [
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            vec![
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            vec!["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            vec![
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, expected) in vectors {
        let expected: Vec<Hash> = expected.into_iter().map(h).collect();
        let proof = inclusion_proof(&leaves[..size], index).unwrap();
        assert_eq!(proof, expected, "index {index} size {size}");
        assert!(verify_inclusion(
            &leaves[index as usize],
            index,
            size as u64,
            &proof,
            &h(ROOTS[size])
        ));
    }
}

#[test]
fn reference_consistency_proofs() {
    let leaves = reference_leaves();
    let vectors: [(u64, usize, Vec<&str>); 5] = [
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            vec![
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            vec![
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            vec![
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, expected) in vectors {
        let expected: Vec<Hash> = expected.into_iter().map(h).collect();
        let proof = consistency_proof(&leaves[..new], old).unwrap();
        assert_eq!(proof, expected, "{old} -> {new}");
        assert!(verify_consistency(
            old,
            new as u64,
            &h(ROOTS[old as usize]),
            &h(ROOTS[new]),
            &proof
        ));
    }
}

#[test]
fn proofs_out_of_range_are_none() {
    let leaves = synthetic_leaves(5);
    assert_eq!(inclusion_proof(&leaves, 5), None);
    assert_eq!(inclusion_proof(&[], 0), None);
    assert_eq!(inclusion_proof(&leaves, u64::MAX), None);
    assert_eq!(consistency_proof(&leaves, 6), None);
    assert_eq!(consistency_proof(&leaves, 0), Some(vec![]));
    assert_eq!(consistency_proof(&leaves, 5), Some(vec![]));
}

#[test]
fn every_inclusion_proof_verifies_and_every_mutation_fails() {
    let all = synthetic_leaves(128);
    for n in 1..=64usize {
        let leaves = &all[..n];
        let tree_root = root(leaves);
        for i in 0..n {
            let index = i as u64;
            let size = n as u64;
            let leaf = &leaves[i];
            let proof = inclusion_proof(leaves, index).unwrap();
            assert!(verify_inclusion(leaf, index, size, &proof, &tree_root));
            assert_eq!(path_len(i, n), proof.len());

            for k in 0..proof.len() {
                let mut bad = proof.clone();
                bad[k] = flip(&bad[k]);
                assert!(!verify_inclusion(leaf, index, size, &bad, &tree_root));
            }
            for other in 0..(n as u64 + 2) {
                if other != index {
                    assert!(
                        !verify_inclusion(leaf, other, size, &proof, &tree_root),
                        "n={n} i={i} claimed index {other}"
                    );
                }
            }
            // A proof fixes its path length, so any size whose path for this
            // index has a different length must be rejected.
            for other in (i + 1)..=128 {
                if other != n && path_len(i, other) != proof.len() {
                    assert!(
                        !verify_inclusion(leaf, index, other as u64, &proof, &tree_root),
                        "n={n} i={i} claimed size {other}"
                    );
                }
            }
            assert!(!verify_inclusion(leaf, index, size * 2, &proof, &tree_root));
            assert!(!verify_inclusion(
                leaf,
                index,
                size,
                &proof,
                &flip(&tree_root)
            ));
            assert!(!verify_inclusion(
                &flip(leaf),
                index,
                size,
                &proof,
                &tree_root
            ));
            if !proof.is_empty() {
                let truncated = &proof[..proof.len() - 1];
                assert!(!verify_inclusion(leaf, index, size, truncated, &tree_root));
            }
            let mut extended = proof.clone();
            extended.push(tree_root);
            assert!(!verify_inclusion(leaf, index, size, &extended, &tree_root));
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_every_mutation_fails() {
    let all = synthetic_leaves(64);
    let roots: Vec<Hash> = (0..=64).map(|size| root(&all[..size])).collect();
    // proof_lens[m][n] is the length of the consistency proof from m to n.
    let proof_lens: Vec<Vec<usize>> = (0..=64u64)
        .map(|m| {
            (0..=64usize)
                .map(|n| consistency_proof(&all[..n], m).map_or(0, |p| p.len()))
                .collect()
        })
        .collect();
    for n in 1..=64usize {
        let new_size = n as u64;
        let new_root = &roots[n];
        for m in 0..=n {
            let old_size = m as u64;
            let old_root = &roots[m];
            let proof = consistency_proof(&all[..n], old_size).unwrap();
            assert!(
                verify_consistency(old_size, new_size, old_root, new_root, &proof),
                "{m} -> {n}"
            );
            if m == 0 || m == n {
                assert!(proof.is_empty());
                assert!(!verify_consistency(
                    old_size,
                    new_size,
                    old_root,
                    new_root,
                    &[*new_root]
                ));
                if m == n {
                    assert!(!verify_consistency(
                        old_size,
                        new_size,
                        &flip(old_root),
                        new_root,
                        &proof
                    ));
                } else {
                    // Size 0 with anything but the empty root is a caller bug.
                    assert!(!verify_consistency(0, new_size, new_root, new_root, &proof));
                }
                continue;
            }

            for k in 0..proof.len() {
                let mut bad = proof.clone();
                bad[k] = flip(&bad[k]);
                assert!(!verify_consistency(
                    old_size, new_size, old_root, new_root, &bad
                ));
            }
            assert!(!verify_consistency(
                old_size,
                new_size,
                &flip(old_root),
                new_root,
                &proof
            ));
            assert!(!verify_consistency(
                old_size,
                new_size,
                old_root,
                &flip(new_root),
                &proof
            ));
            assert!(!verify_consistency(
                old_size, new_size, new_root, old_root, &proof
            ));
            assert!(!verify_consistency(
                old_size,
                new_size,
                old_root,
                new_root,
                &proof[..proof.len() - 1]
            ));
            assert!(!verify_consistency(
                old_size,
                new_size,
                old_root,
                new_root,
                &[]
            ));
            let mut extended = proof.clone();
            extended.push(*new_root);
            assert!(!verify_consistency(
                old_size, new_size, old_root, new_root, &extended
            ));
            // A wrong size paired with the root that really belongs to that
            // size must fail. With the true roots, a wrong size is only
            // detectable when it changes the proof's length: proofs bind
            // roots, and the signed checkpoint binds each root to its size.
            for (other_old, other_root) in roots.iter().enumerate().take(n).skip(1) {
                if other_old == m {
                    continue;
                }
                let claimed = other_old as u64;
                assert!(
                    !verify_consistency(claimed, new_size, other_root, new_root, &proof),
                    "{m} -> {n} claimed old size {other_old}"
                );
                if proof_lens[other_old][n] != proof.len() {
                    assert!(
                        !verify_consistency(claimed, new_size, old_root, new_root, &proof),
                        "{m} -> {n} claimed old size {other_old} with the true root"
                    );
                }
            }
            for (other_new, other_root) in roots.iter().enumerate().skip(m + 1) {
                if other_new == n {
                    continue;
                }
                let claimed = other_new as u64;
                assert!(
                    !verify_consistency(old_size, claimed, old_root, other_root, &proof),
                    "{m} -> {n} claimed new size {other_new}"
                );
                if proof_lens[m][other_new] != proof.len() {
                    assert!(
                        !verify_consistency(old_size, claimed, old_root, new_root, &proof),
                        "{m} -> {n} claimed new size {other_new} with the true root"
                    );
                }
            }
            assert!(!verify_consistency(
                new_size, old_size, new_root, old_root, &proof
            ));
        }
    }
}

#[test]
fn frontier_root_matches_root_for_every_prefix() {
    let leaves = synthetic_leaves(100);
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), root(&[]));
    for (i, leaf) in leaves.iter().enumerate() {
        frontier.push(*leaf);
        assert_eq!(frontier.size(), i as u64 + 1);
        assert_eq!(frontier.root(), root(&leaves[..=i]), "size {}", i + 1);
        assert_eq!(frontier.nodes().len(), (i + 1).count_ones() as usize);
    }
}

#[test]
fn frontier_matches_reference_roots_and_restores_from_parts() {
    let leaves = reference_leaves();
    let mut frontier = Frontier::new();
    for (i, leaf) in leaves.iter().enumerate() {
        frontier.push(*leaf);
        assert_eq!(frontier.root(), h(ROOTS[i + 1]));
    }

    let mut partial = Frontier::new();
    for leaf in &leaves[..5] {
        partial.push(*leaf);
    }
    let mut restored = Frontier::from_parts(partial.size(), partial.nodes().to_vec()).unwrap();
    assert_eq!(restored, partial);
    for leaf in &leaves[5..] {
        restored.push(*leaf);
    }
    assert_eq!(restored.root(), h(ROOTS[8]));

    assert!(matches!(
        Frontier::from_parts(5, vec![leaves[0]]),
        Err(CryptoError::MalformedFrontier(_))
    ));
    assert!(Frontier::from_parts(0, vec![]).is_ok());
}
