//! PDF text extraction held to software we did not write: PDFs written by reportlab and
//! fpdf2 (tests/fixtures/make_pdfs.py) are read by meetvault and by poppler's `pdftotext`,
//! and the two must find the same words (lowercased, punctuation trimmed), give or take 2%.
//! The tools come from scripts/pdf-tools.sh (or `PDF_PYTHON`, a python with reportlab and
//! fpdf2, with `pdftotext` on the PATH); without them the tests fail and say why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use meetvault_intel::docs::{DocError, Format, Limits, extract};

/// A readable file make_pdfs.py writes: its name, its columns per page (read by pdftotext
/// one after the other, as meetvault reads them: in the order they are drawn; pdftotext's
/// own reading order of a two-column page interleaves blocks of both), and text it must
/// contain exactly.
struct Case {
    name: &'static str,
    columns: u32,
    must_contain: &'static [&'static str],
}

const READABLE: &[Case] = &[
    Case {
        name: "reportlab-paragraphs.pdf",
        columns: 1,
        must_contain: &["Café – naïve façade"],
    },
    Case {
        name: "reportlab-dejavu.pdf",
        columns: 1,
        must_contain: &["Café – naïve façade — Zürich, Ελληνικά, Кириллица, 5 €"],
    },
    Case {
        name: "reportlab-canvas.pdf",
        columns: 1,
        must_contain: &["Café – naïve façade"],
    },
    // Words placed one by one (gaps are pen moves), some in two pieces, a superscript.
    Case {
        name: "reportlab-words.pdf",
        columns: 1,
        must_contain: &[
            "Energy is mc2 in Café – naïve façade",
            "Latency in the European region",
        ],
    },
    Case {
        name: "reportlab-columns.pdf",
        columns: 2,
        must_contain: &["Café – naïve façade"],
    },
    Case {
        name: "fpdf2-dejavu.pdf",
        columns: 1,
        must_contain: &["Café – naïve façade", "Zürich – Ελληνικά – Кириллица – 5 €"],
    },
    Case {
        name: "fpdf2-core.pdf",
        columns: 1,
        must_contain: &["Café – naïve façade"],
    },
    // Encrypted with an owner password only: anyone may open it, and lopdf does.
    Case {
        name: "encrypted-owner-only.pdf",
        columns: 1,
        must_contain: &["Café – naïve façade"],
    },
];

/// The share of words the two readers may disagree on.
const TOLERANCE: f64 = 0.02;

#[test]
fn docs_from_generated_pdfs_have_the_words_pdftotext_finds() {
    let dir = Fixtures::generate();
    let mut failures = Vec::new();
    for Case {
        name,
        columns,
        must_contain,
    } in READABLE
    {
        let path = dir.path().join(name);
        let bytes = std::fs::read(&path).unwrap();
        if !bytes.windows(12).any(|w| w == b"/FlateDecode") {
            failures.push(format!("{name}: its streams are not compressed"));
        }
        let ours = match extract(Format::Pdf, &bytes, &Limits::default()) {
            Ok(text) => text,
            Err(e) => {
                failures.push(format!("{name}: meetvault could not read it: {e:?}"));
                continue;
            }
        };
        let theirs = match columns {
            1 => pdftotext(&path, &[]),
            n => by_columns(&path, *n),
        };
        let theirs = theirs.unwrap_or_else(|e| panic!("pdftotext on {name}: {e}"));
        let (a, b) = (words(&ours), words(&theirs));
        let differing = differing_words(&a, &b);
        let total = a.len().max(b.len());
        let agreement = 100.0 * (1.0 - differing.len() as f64 / total.max(1) as f64);
        eprintln!(
            "{name}: meetvault {} words, pdftotext {} words, {} differ ({agreement:.1}% agree)",
            a.len(),
            b.len(),
            differing.len()
        );
        if b.len() < 50 {
            failures.push(format!("{name}: pdftotext found only {} words", b.len()));
        }
        if differing.len() as f64 > TOLERANCE * total as f64 {
            failures.push(format!(
                "{name}: {} of {total} words differ (more than {:.0}%):\n{}",
                differing.len(),
                TOLERANCE * 100.0,
                differing.join("\n")
            ));
        }
        for expected in *must_contain {
            if !ours.contains(expected) {
                failures.push(format!("{name}: the text lacks {expected:?}:\n{ours}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn docs_refuse_a_pdf_with_a_user_password_and_read_one_with_an_owner_password_only() {
    let dir = Fixtures::generate();
    let path = dir.path().join("encrypted-user-password.pdf");
    // The fixture really needs its password: poppler cannot open it without one.
    assert!(
        pdftotext(&path, &[]).is_err(),
        "pdftotext read the password-protected file without its password"
    );
    let result = extract(
        Format::Pdf,
        &std::fs::read(&path).unwrap(),
        &Limits::default(),
    );
    assert!(matches!(result, Err(DocError::Encrypted)), "{result:?}");

    // Encrypted, but with an empty user password: lopdf decrypts it as any reader does
    // (its words are compared with pdftotext's above).
    let path = dir.path().join("encrypted-owner-only.pdf");
    let info = Command::new("pdfinfo").arg(&path).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Encrypted:") && l.contains("yes")),
        "the owner-password fixture is not encrypted:\n{info}"
    );
    let text = extract(
        Format::Pdf,
        &std::fs::read(&path).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert!(text.contains("Page 1 of the board minutes"), "{text}");
}

/// The words of a text, as the comparison sees them: lowercased, split on whitespace, with
/// punctuation trimmed from both ends, empty ones dropped.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The words only one side has (by a longest common subsequence), each shown with the
/// words around it: `- word` only in meetvault's, `+ word` only in pdftotext's.
fn differing_words(ours: &[String], theirs: &[String]) -> Vec<String> {
    let (n, m) = (ours.len(), theirs.len());
    // lcs[i][j]: the longest common subsequence of ours[i..] and theirs[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if ours[i] == theirs[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let context = |words: &[String], at: usize| {
        words[at.saturating_sub(3)..(at + 4).min(words.len())].join(" ")
    };
    let (mut i, mut j) = (0, 0);
    let mut diff = Vec::new();
    while i < n || j < m {
        if i < n && j < m && ours[i] == theirs[j] {
            (i, j) = (i + 1, j + 1);
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            diff.push(format!(
                "- {:<20} (meetvault: …{}…)",
                ours[i],
                context(ours, i)
            ));
            i += 1;
        } else {
            diff.push(format!(
                "+ {:<20} (pdftotext: …{}…)",
                theirs[j],
                context(theirs, j)
            ));
            j += 1;
        }
    }
    diff
}

/// poppler's text of a page's columns, page after page, each column cropped out of the
/// page (`columns` of equal width) and read on its own.
fn by_columns(path: &Path, columns: u32) -> Result<String, String> {
    let info = Command::new("pdfinfo")
        .arg(path)
        .output()
        .map_err(|e| format!("pdfinfo did not run ({e}); run scripts/pdf-tools.sh"))?;
    let info = String::from_utf8_lossy(&info.stdout);
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .ok_or(format!("pdfinfo gives no {key}"))
    };
    let pages: u32 = field("Pages:")?
        .parse()
        .map_err(|e| format!("pages: {e}"))?;
    // "Page size:      595.276 x 841.89 pts (A4)"
    let size: Vec<f64> = field("Page size:")?
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (width, height) = (size[0].ceil() as u32, size[1].ceil() as u32);
    let column = width / columns + 1;
    let mut text = String::new();
    for page in 1..=pages {
        for k in 0..columns {
            let (page, x) = (page.to_string(), (k * column).to_string());
            let (w, h) = (column.to_string(), height.to_string());
            let crop = [
                "-f", &page, "-l", &page, "-x", &x, "-y", "0", "-W", &w, "-H", &h,
            ];
            text.push_str(&pdftotext(path, &crop)?);
            text.push('\n');
        }
    }
    Ok(text)
}

/// poppler's text of a PDF, in UTF-8; an error when it cannot read the file.
fn pdftotext(path: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .args(args)
        .arg(path)
        .arg("-")
        .output()
        .map_err(|e| format!("pdftotext did not run ({e}); run scripts/pdf-tools.sh"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// A fresh directory of PDFs written by make_pdfs.py, removed when dropped.
struct Fixtures(PathBuf);

impl Fixtures {
    fn generate() -> Fixtures {
        let python = python();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("meetvault-docs-pdf-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixtures = Fixtures(dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make_pdfs.py");
        let out = Command::new(&python)
            .arg(&script)
            .arg(fixtures.path())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{} did not run ({e}): set PDF_PYTHON to a python with reportlab and \
                     fpdf2, or unset it to use scripts/pdf-tools.sh",
                    python.display()
                )
            });
        assert!(
            out.status.success(),
            "{} {} failed: {}",
            python.display(),
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        fixtures
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A python with reportlab and fpdf2: `PDF_PYTHON`, else the one scripts/pdf-tools.sh
/// installs (with pdftotext) and prints.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("PDF_PYTHON") {
        return PathBuf::from(python);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pdf-tools.sh");
    let out = Command::new("bash").arg(&script).output();
    match out {
        Ok(o) if o.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_owned())
        }
        other => panic!(
            "the PDF tools are needed (poppler's pdftotext, and reportlab and fpdf2 in a \
             python): run scripts/pdf-tools.sh (it installs them), or set PDF_PYTHON to a \
             python that has reportlab and fpdf2; running {} failed: {other:?}",
            script.display()
        ),
    }
}
