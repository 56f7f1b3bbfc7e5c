//! meetvault's age encryption against the reference implementation: Debian's `age` package
//! (installed by scripts/deps.sh) decrypts what meetvault encrypted, for sizes around the chunk
//! boundaries and pieces of every size, and refuses a file with one byte changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use meetvault_crypto::age::{CHUNK, Encryptor, Recipient};

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is not installed: the age differential test needs Debian's `age` package (scripts/deps.sh installs it)"
    );
    Command::new(name)
}

fn encrypt(recipient: &Recipient, data: &[u8], piece: usize) -> Vec<u8> {
    let mut e = Encryptor::new(recipient);
    let mut out = e.header();
    for p in data.chunks(piece.max(1)) {
        out.extend(e.push(p));
    }
    out.extend(e.finish());
    out
}

#[test]
fn the_age_tool_decrypts_what_meetvault_encrypts() {
    let dir = tempfile::tempdir().unwrap();
    let identity = dir.path().join("key.txt");
    let made = tool("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = tool("age-keygen")
        .arg("-y")
        .arg(&identity)
        .output()
        .unwrap();
    let recipient = Recipient::parse(String::from_utf8(public.stdout).unwrap().trim()).unwrap();

    let mut state = 0x1234_5678u32;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect()
    };
    for (len, piece) in [
        (0, 1),
        (1, 1),
        (CHUNK - 1, 4096),
        (CHUNK, CHUNK),
        (CHUNK + 1, 7),
        (3 * CHUNK, 65_000),
        (1_000_003, 100_000),
    ] {
        let plain = noise(len);
        let sealed = encrypt(&recipient, &plain, piece);
        let file = dir.path().join(format!("f{len}.age"));
        std::fs::write(&file, &sealed).unwrap();
        let out = tool("age")
            .arg("--decrypt")
            .arg("-i")
            .arg(&identity)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "age refused {len} bytes: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout == plain,
            "age decrypted {len} bytes to something else"
        );

        if len > 0 {
            let mut tampered = sealed.clone();
            let at = tampered.len() - 1 - (len % 97);
            tampered[at] ^= 0x40;
            std::fs::write(&file, &tampered).unwrap();
            let out = tool("age")
                .arg("--decrypt")
                .arg("-i")
                .arg(&identity)
                .arg(&file)
                .output()
                .unwrap();
            assert!(!out.status.success(), "age accepted a changed byte ({len})");
        }
    }
}
