//! The PDFs under test, read back by poppler's command-line tools (`pdftotext`, `pdfinfo`,
//! `pdffonts`, `pdftoppm`; Debian: poppler-utils, installed by scripts/pdf-tools.sh). A missing
//! tool fails the test and says how to install it; a tool that exits non-zero or complains on
//! stderr fails it too.

use std::path::PathBuf;
use std::process::Command;

use meetvault_pdf::{MeetingDoc, render};

/// A rendered meeting, written to a temporary file for the tools.
pub struct Pdf {
    pub bytes: Vec<u8>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pdf {
    pub fn render(doc: &MeetingDoc<'_>) -> Pdf {
        let bytes = render(doc);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meeting.pdf");
        std::fs::write(&path, &bytes).unwrap();
        Pdf {
            bytes,
            path,
            _dir: dir,
        }
    }

    /// `pdftotext` in its default (reading order) mode, as UTF-8.
    pub fn text(&self) -> String {
        let out = run("pdftotext", &["-enc", "UTF-8", path_str(&self.path), "-"]);
        String::from_utf8(out).unwrap()
    }

    /// The text with every run of whitespace turned into one space.
    pub fn words(&self) -> String {
        self.text().split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// A field of `pdfinfo`'s report ("Pages", "Title", …).
    pub fn info(&self, field: &str) -> String {
        let out = String::from_utf8(run("pdfinfo", &[path_str(&self.path)])).unwrap();
        let prefix = format!("{field}:");
        out.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("pdfinfo reports no {field}:\n{out}"))
    }

    pub fn pages(&self) -> usize {
        self.info("Pages").parse().unwrap()
    }

    /// `pdffonts`' rows: name, type, encoding, embedded, subset, ToUnicode.
    pub fn fonts(&self) -> Vec<Vec<String>> {
        let out = String::from_utf8(run("pdffonts", &[path_str(&self.path)])).unwrap();
        out.lines()
            .skip(2)
            .map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                // "CID TrueType" is one column in two words.
                let mut row = vec![cols[0].to_owned(), format!("{} {}", cols[1], cols[2])];
                row.extend(cols[3..7].iter().map(|c| (*c).to_owned()));
                row
            })
            .collect()
    }

    /// Page `page` rendered by `pdftoppm` at `dpi`, in gray.
    pub fn raster(&self, page: usize, dpi: u32) -> Gray {
        let (p, d) = (page.to_string(), dpi.to_string());
        let pgm = run(
            "pdftoppm",
            &["-r", &d, "-gray", "-f", &p, "-l", &p, path_str(&self.path)],
        );
        Gray::from_pgm(&pgm)
    }
}

fn path_str(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a poppler tool; its stdout, after checking it succeeded without a word on stderr.
fn run(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} did not run ({e}): install poppler-utils with scripts/pdf-tools.sh \
             (or apt-get install poppler-utils)"
        )
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}\n{stderr}",
        out.status
    );
    assert!(
        stderr.trim().is_empty(),
        "{tool} {args:?} complained:\n{stderr}"
    );
    out.stdout
}

/// An 8-bit gray image.
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Gray {
    /// Binary PGM (`P5`, maximum 255), as `pdftoppm -gray` writes it.
    fn from_pgm(data: &[u8]) -> Gray {
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while data[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !data[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(std::str::from_utf8(&data[start..at]).unwrap().to_owned());
        }
        assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P5", "255"));
        let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let pixels = data[at + 1..].to_vec();
        assert_eq!(pixels.len(), width * height);
        Gray {
            width,
            height,
            pixels,
        }
    }

    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }
}

/// Asserts that `needles` occur in `haystack` in this order (each after the end of the last).
pub fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match haystack[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => {
                let context: String = haystack[from..].chars().take(300).collect();
                panic!(
                    "{needle:?} not found after byte {from} (found before it: {}); what follows:\n{context}",
                    haystack[..from].contains(needle)
                );
            }
        }
    }
}
