//! Mutation tests of the `model.bin` parser and loader: truncated, bit-flipped and absurd files
//! are errors, never panics or huge allocations.

use meetvault_whisper::ct2::parse_ct2;
use meetvault_whisper::{Model, WhisperError};

use crate::support::model_dir;

fn real() -> Vec<u8> {
    std::fs::read(model_dir().join("model.bin")).unwrap()
}

/// Deterministic pseudo-random numbers (an LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// A small synthetic file: version, spec, `vars`, aliases.
fn synthetic(
    version: u32,
    vars: &[(&str, &[u32], u8, usize)],
    aliases: &[(&str, &str)],
) -> Vec<u8> {
    let mut out = version.to_le_bytes().to_vec();
    let put = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    if version >= 2 {
        put(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
    }
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, dims, dtype, bytes) in vars {
        put(&mut out, name);
        out.push(dims.len() as u8);
        for d in *dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.push(*dtype);
        out.extend_from_slice(&(*bytes as u32).to_le_bytes());
        out.extend(std::iter::repeat_n(0x3cu8, *bytes));
    }
    if version >= 3 {
        out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
        for (a, t) in aliases {
            put(&mut out, a);
            put(&mut out, t);
        }
    }
    out
}

#[test]
fn the_real_file_parses_and_every_prefix_of_it_is_an_error() {
    let bytes = real();
    let header = parse_ct2(&bytes).unwrap();
    assert_eq!((header.version, header.spec.as_str()), (6, "WhisperSpec"));
    assert!(
        header.get("decoder/projection/weight").is_some(),
        "alias resolves"
    );
    // Every cut in the first 8 KB (the headers of the first tensors), then a spread to the end.
    let cuts = (0..8192).chain((8192..bytes.len()).step_by(bytes.len() / 500));
    for cut in cuts {
        assert!(
            parse_ct2(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes parsed"
        );
    }
}

#[test]
fn flipped_and_random_bytes_in_the_real_header_never_panic() {
    let mut bytes = real();
    let mut rejected = 0;
    for pos in 0..4096 {
        let orig = bytes[pos];
        for mask in [0xff, 0x01, 0x80] {
            bytes[pos] = orig ^ mask;
            rejected += usize::from(parse_ct2(&bytes).is_err());
        }
        bytes[pos] = orig;
    }
    // Most of the first 4 KB is tensor data, where a flip is a different but valid file.
    assert!(
        rejected > 200,
        "only {rejected} of 12288 flips were rejected"
    );
    let mut rng = Lcg(42);
    for _ in 0..3000 {
        let mut copy = bytes[..16_384].to_vec();
        for _ in 0..1 + rng.next() % 8 {
            let at = (rng.next() as usize) % copy.len();
            copy[at] = rng.next() as u8;
        }
        let cut = (rng.next() as usize) % copy.len();
        assert!(parse_ct2(&copy[..cut]).is_err());
    }
}

#[test]
fn absurd_counts_dims_and_types_are_errors() {
    let ok = synthetic(
        6,
        &[("a/weight", &[2, 3], 0, 24), ("s", &[], 1, 1)],
        &[("b/weight", "a/weight")],
    );
    assert!(parse_ct2(&ok).is_ok());
    let count_at = 4 + 2 + 12 + 4;
    let name_len = 2 + 9;
    let rank_at = count_at + 4 + name_len;
    type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "version 0",
            Box::new(|b| b[0..4].copy_from_slice(&0u32.to_le_bytes())),
        ),
        (
            "version 99",
            Box::new(|b| b[0..4].copy_from_slice(&99u32.to_le_bytes())),
        ),
        (
            "u32::MAX variables",
            Box::new(move |b| b[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes())),
        ),
        ("rank 255", Box::new(move |b| b[rank_at] = 255)),
        (
            "dims overflow",
            Box::new(move |b| {
                b[rank_at + 1..rank_at + 5].copy_from_slice(&u32::MAX.to_le_bytes());
                b[rank_at + 5..rank_at + 9].copy_from_slice(&u32::MAX.to_le_bytes());
            }),
        ),
        ("unknown dtype", Box::new(move |b| b[rank_at + 9] = 200)),
        (
            "byte count too big",
            Box::new(move |b| {
                b[rank_at + 10..rank_at + 14].copy_from_slice(&u32::MAX.to_le_bytes())
            }),
        ),
        (
            "name longer than file",
            Box::new(move |b| {
                b[count_at + 4..count_at + 6].copy_from_slice(&u16::MAX.to_le_bytes())
            }),
        ),
        (
            "trailing garbage",
            Box::new(|b| b.extend_from_slice(b"garbage")),
        ),
        (
            "huge alias count",
            Box::new(|b| {
                let n = b.len();
                // The alias section is the last 4 + 2 × (2 + 9) bytes.
                b[n - 26..n - 22].copy_from_slice(&u32::MAX.to_le_bytes());
            }),
        ),
    ];
    for (what, mutate) in cases {
        let mut b = ok.clone();
        mutate(&mut b);
        let err = parse_ct2(&b).expect_err(what);
        assert!(matches!(err, WhisperError::ModelFormat(_)), "{what}: {err}");
        assert!(
            err.to_string().starts_with("invalid model: model.bin:"),
            "{what}: {err}"
        );
    }
}

#[test]
fn a_parseable_file_with_wrong_shapes_is_a_load_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["config.json", "tokenizer.json", "vocabulary.txt"] {
        std::fs::copy(model_dir().join(name), tmp.path().join(name)).unwrap();
    }
    // Only a few tensors: the loader must name what is missing.
    let small = synthetic(
        6,
        &[("decoder/embeddings/weight", &[51864, 2], 4, 51864 * 4)],
        &[],
    );
    std::fs::write(tmp.path().join("model.bin"), &small).unwrap();
    let err = Model::load(tmp.path()).unwrap_err();
    assert!(matches!(err, WhisperError::ModelFormat(_)), "{err}");

    // The real file with conv1's dims swapped ([384, 80, 3] → [80, 384, 3], same byte count).
    let mut bytes = real();
    let header = parse_ct2(&bytes).unwrap();
    let conv = header
        .variables
        .iter()
        .find(|v| v.name == "encoder/conv1/weight")
        .unwrap();
    let dims_at = conv.offset - 4 - 1 - 3 * 4;
    bytes[dims_at..dims_at + 4].copy_from_slice(&80u32.to_le_bytes());
    bytes[dims_at + 4..dims_at + 8].copy_from_slice(&384u32.to_le_bytes());
    assert!(parse_ct2(&bytes).is_ok());
    std::fs::write(tmp.path().join("model.bin"), &bytes).unwrap();
    let err = Model::load(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("encoder/conv1/weight"), "{err}");
}
