//! Tests for signed notes and checkpoints, including Go's published sumdb/note vectors for interop.

use super::*;

// Known-answer vectors from golang.org/x/mod/sumdb/note note_test.go
// (TestNewVerifier, TestSign, TestOpen). Ed25519 is deterministic, so signing
// the same text with the same seed must reproduce Go's note byte for byte.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Key material of Go's `PRIVATE+KEY+PeterNeumann+c74f20a3+...`: 0x01 || seed.
const PETER_SKEY_MATERIAL: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_seed() -> [u8; 32] {
    let material = STANDARD.decode(PETER_SKEY_MATERIAL).unwrap();
    assert_eq!(material[0], SIG_TYPE_ED25519);
    material[1..].try_into().unwrap()
}

fn peter() -> NoteVerifier {
    NoteVerifier::parse(PETER_VKEY).unwrap()
}

#[test]
fn go_vector_signer_reproduces_key_and_note_byte_for_byte() {
    let signer = NoteSigner::from_seed("PeterNeumann", &peter_seed()).unwrap();
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
    assert_eq!(signer.verifier(), peter());
    let note = signer.sign(TEXT).unwrap();
    assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_vector_notes_verify_and_ignore_unknown_signatures() {
    let verifier = peter();
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(
        verifier.verify(&format!("{TEXT}\n{PETER_SIG}")).unwrap(),
        TEXT
    );

    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(verifier.verify(&both).unwrap(), TEXT);
    let enoch = NoteVerifier::parse(ENOCH_VKEY).unwrap();
    assert_eq!(enoch.verify(&both).unwrap(), TEXT);

    let enoch_only = format!("{TEXT}\n{ENOCH_SIG}");
    assert_eq!(
        verifier.verify(&enoch_only),
        Err(CryptoError::MissingSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
}

#[test]
fn go_vector_corrupted_signature_is_invalid() {
    let corrupted = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(
        peter().verify(&format!("{TEXT}\n{corrupted}")),
        Err(CryptoError::InvalidSignature { .. })
    ));
}

#[test]
fn go_vector_malformed_notes_are_rejected() {
    let bad = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\u{1}{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
        format!("{TEXT}\n- PeterNeumann x08go/ZJkuBS9UG\n"),
        format!("{TEXT}\n\u{2014} PeterNeumann AAAA\n"),
    ];
    for note in bad {
        assert!(
            matches!(peter().verify(&note), Err(CryptoError::MalformedNote(_))),
            "accepted {note:?}"
        );
    }
}

#[test]
fn go_vector_verifier_key_manglings_are_rejected() {
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in (i + 1)..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let part = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!(NoteVerifier::parse(part).is_err(), "accepted {part:?}");
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(
            NoteVerifier::parse(&mangled).is_err(),
            "accepted {mangled:?}"
        );
    }
    // Valid key ids for a wrong-length key and an unknown algorithm byte.
    assert!(matches!(
        NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        ),
        Err(CryptoError::MalformedVerifierKey(_))
    ));
    assert!(matches!(
        NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(CryptoError::UnsupportedSignatureType(_))
    ));
    assert_eq!(
        NoteVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(CryptoError::KeyIdMismatch)
    );
}

#[test]
fn verifier_key_string_round_trips() {
    assert_eq!(peter().to_vkey(), PETER_VKEY);
    let signer = NoteSigner::generate("meet.example.org/audit").unwrap();
    let verifier = signer.verifier();
    let vkey = verifier.to_vkey();
    assert!(vkey.starts_with("meet.example.org/audit+"));
    assert_eq!(NoteVerifier::parse(&vkey).unwrap(), verifier);
    assert_eq!(
        NoteVerifier::from_public_key(verifier.name(), &verifier.public_key()).unwrap(),
        verifier
    );
}

#[test]
fn weak_and_non_canonical_public_keys_are_rejected() {
    // The identity point (y = 1) has small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(NoteVerifier::from_public_key("k", &identity).is_err());
    // y = p + 1 is a non-canonical alias of the identity.
    let mut alias = [0xffu8; 32];
    alias[0] = 0xee;
    alias[31] = 0x7f;
    assert!(NoteVerifier::from_public_key("k", &alias).is_err());
    let real = peter().public_key();
    assert!(NoteVerifier::from_public_key("k", &real).is_ok());
}

#[test]
fn sign_verify_round_trip_with_generated_key() {
    let signer = NoteSigner::generate("meet.example.org/audit").unwrap();
    let text = "line one\n\nline three after an empty line\n";
    let note = signer.sign(text).unwrap();
    assert_eq!(signer.verifier().verify(&note).unwrap(), text);

    let restored = NoteSigner::from_seed(signer.name(), &signer.seed()).unwrap();
    assert_eq!(restored.verifier(), signer.verifier());
    assert_eq!(restored.sign(text).unwrap(), note);
}

#[test]
fn tampered_text_fails() {
    let note = format!("{TEXT}\n{PETER_SIG}").replace("cryptography", "cryptographY");
    assert!(matches!(
        peter().verify(&note),
        Err(CryptoError::InvalidSignature { .. })
    ));
}

#[test]
fn wrong_key_or_name_is_not_accepted() {
    let signer = NoteSigner::generate("PeterNeumann").unwrap();
    let note = signer.sign(TEXT).unwrap();
    // Same name, different key: a different key id, so the line is ignored.
    assert!(matches!(
        peter().verify(&note),
        Err(CryptoError::MissingSignature { .. })
    ));

    let other_name = NoteSigner::from_seed("PeterNeumann2", &peter_seed()).unwrap();
    let note = other_name.sign(TEXT).unwrap();
    assert!(matches!(
        peter().verify(&note),
        Err(CryptoError::MissingSignature { .. })
    ));

    // Matching name and id but a signature by another key must be rejected,
    // not skipped.
    let mut blob = 0xc74f20a3u32.to_be_bytes().to_vec();
    blob.extend_from_slice(&signer.key.sign(TEXT.as_bytes()).to_bytes());
    let forged = format!("{TEXT}\n\u{2014} PeterNeumann {}\n", STANDARD.encode(blob));
    assert!(matches!(
        peter().verify(&forged),
        Err(CryptoError::InvalidSignature { .. })
    ));
    // A valid signature elsewhere does not excuse the invalid one.
    assert!(matches!(
        peter().verify(&format!("{forged}{PETER_SIG}")),
        Err(CryptoError::InvalidSignature { .. })
    ));
}

#[test]
fn invalid_names_and_texts_are_rejected() {
    for name in ["", "a b", "a+b", "a\tb", "a\u{2003}b", "a\u{7f}b"] {
        assert!(
            matches!(
                NoteSigner::from_seed(name, &[7; 32]),
                Err(CryptoError::InvalidKeyName(_))
            ),
            "accepted {name:?}"
        );
    }
    let signer = NoteSigner::from_seed("k", &[7; 32]).unwrap();
    for text in ["", "no final newline", "tab\there\n", "cr\r\n"] {
        assert!(
            matches!(signer.sign(text), Err(CryptoError::InvalidNoteText(_))),
            "accepted {text:?}"
        );
    }
}

#[test]
fn signer_debug_shows_name_and_id_but_no_key_material() {
    let seed = [0xabu8; 32];
    let signer = NoteSigner::from_seed("meet.example.org/audit", &seed).unwrap();
    let debug = format!("{signer:?}");
    assert!(debug.contains("meet.example.org/audit"));
    assert!(debug.contains(&format!("{:08x}", signer.key_id())));
    assert!(!debug.contains("171, 171"));
    assert!(!debug.to_lowercase().contains("abab"));
    assert!(!debug.contains(&STANDARD.encode(seed)[..8]));
}

const SPEC_CHECKPOINT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn checkpoint_text_round_trips() {
    let parsed = Checkpoint::parse(SPEC_CHECKPOINT).unwrap();
    assert_eq!(parsed.origin, "example.com/behind-the-sofa");
    assert_eq!(parsed.size, 20852163);
    assert!(parsed.extensions.is_empty());
    assert_eq!(parsed.to_text(), SPEC_CHECKPOINT);

    let checkpoint = Checkpoint {
        origin: "meet.example.org/audit".into(),
        size: 0,
        root: crate::merkle::empty_root(),
        extensions: vec!["ext one".into(), "ext-two".into()],
    };
    let text = checkpoint.to_text();
    assert_eq!(
        text,
        "meet.example.org/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\next-two\n"
    );
    assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
}

#[test]
fn malformed_checkpoints_are_rejected() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let root_31 = STANDARD.encode([1u8; 31]);
    let root_33 = STANDARD.encode([1u8; 33]);
    let bad = [
        String::new(),
        "origin\n".to_owned(),
        "origin\n5\n".to_owned(),
        format!("\n5\n{root}\n"),
        format!("origin\n5\n{root}"),
        format!("origin\n01\n{root}\n"),
        format!("origin\n00\n{root}\n"),
        format!("origin\n\n{root}\n"),
        format!("origin\n+5\n{root}\n"),
        format!("origin\n-5\n{root}\n"),
        format!("origin\n 5\n{root}\n"),
        format!("origin\n5 \n{root}\n"),
        format!("origin\n18446744073709551616\n{root}\n"),
        "origin\n5\nnot base64!\n".to_owned(),
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_owned(),
        format!("origin\n5\n{root_31}\n"),
        format!("origin\n5\n{root_33}\n"),
        format!("origin\n5\n{root}\n\n"),
        format!("origin\n5\n{root}\next\n\nmore\n"),
        format!("origin\r\n5\n{root}\n"),
    ];
    for text in bad {
        assert!(
            matches!(
                Checkpoint::parse(&text),
                Err(CryptoError::MalformedCheckpoint(_))
            ),
            "accepted {text:?}"
        );
    }
    assert_eq!(
        Checkpoint::parse(&format!("o\n18446744073709551615\n{root}\n"))
            .unwrap()
            .size,
        u64::MAX
    );
}

#[test]
fn signed_checkpoint_end_to_end() {
    let signer = NoteSigner::generate("meet.example.org/audit").unwrap();
    let checkpoint = Checkpoint {
        origin: signer.name().to_owned(),
        size: 8,
        root: [9; 32],
        extensions: vec![],
    };
    let note = signer.sign(&checkpoint.to_text()).unwrap();
    let text = signer.verifier().verify(&note).unwrap();
    assert_eq!(Checkpoint::parse(&text).unwrap(), checkpoint);
}
