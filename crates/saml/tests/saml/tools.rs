//! Finds the peers (the python of scripts/saml-tools.sh, or `SAML_PYTHON`) and drives
//! tests/idp.py. Fails loudly when a peer is missing: these tests never pass by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use meetvault_saml::{AuthnRequest, IdpMetadata, SpConfig};

pub const SP_ENTITY: &str = "https://meetvault.test.invalid/saml/metadata";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const ACS_URL: &str = "https://meetvault.test.invalid/saml/acs";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The python that has pysaml2 and lxml.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(p) = std::env::var_os("SAML_PYTHON") {
            return PathBuf::from(p);
        }
        let script = manifest_dir().join("../../scripts/saml-tools.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed ({}); it installs xmlsec1 (apt) and pysaml2 + lxml (PyPI) — or set \
             SAML_PYTHON to a python that has them",
            script.display(),
            out.status
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// Runs tests/idp.py with `args`, feeding `stdin`; returns stdout, panicking with stderr.
pub fn idp_py(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    let script = manifest_dir().join("tests/idp.py");
    let mut child = Command::new(python())
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python().display()));
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "idp.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One test identity provider: a key pair and its metadata in a scratch directory.
pub struct Idp {
    pub dir: tempfile::TempDir,
    pub name: &'static str,
    pub key_type: &'static str,
    pub metadata: IdpMetadata,
}

impl Idp {
    pub fn new(name: &'static str, key_type: &'static str) -> Idp {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap().to_owned();
        let path = idp_py(
            &[
                "metadata",
                "--dir",
                &dir_arg,
                "--name",
                name,
                "--key-type",
                key_type,
            ],
            None,
        );
        let metadata_xml = std::fs::read_to_string(path.trim()).unwrap();
        let metadata =
            IdpMetadata::parse(&metadata_xml).expect("our parser reads pysaml2's metadata");
        Idp {
            dir,
            name,
            key_type,
            metadata,
        }
    }

    /// The shared RSA IdP (one key for the whole test binary).
    pub fn rsa() -> &'static Idp {
        static IDP: OnceLock<Idp> = OnceLock::new();
        IDP.get_or_init(|| Idp::new("idp", "rsa"))
    }

    /// Writes `sp`'s metadata where idp.py can read it.
    fn sp_metadata_file(&self, sp: &SpConfig) -> PathBuf {
        let path = self.dir.path().join(format!("sp-{}.xml", rand_suffix()));
        std::fs::write(&path, sp.sp_metadata_xml()).unwrap();
        path
    }

    /// pysaml2's answer to `request` (base64), signed as `opts` says.
    pub fn respond(&self, sp: &SpConfig, request: &AuthnRequest, opts: &Respond) -> String {
        let url = request.redirect_url(Some("state-1")).unwrap();
        let saml_request = query_param(&url, "SAMLRequest");
        let sp_file = self.sp_metadata_file(sp);
        let identity = serde_json_lite(&opts.identity);
        let lifetime = opts.lifetime_minutes.to_string();
        let mut args = vec![
            "respond",
            "--dir",
            self.dir.path().to_str().unwrap(),
            "--name",
            self.name,
            "--key-type",
            self.key_type,
            "--sp-metadata",
            sp_file.to_str().unwrap(),
            "--request",
            &saml_request,
            "--sign",
            opts.sign,
            "--identity",
            &identity,
            "--name-id",
            &opts.name_id,
            "--lifetime-minutes",
            &lifetime,
        ];
        if let Some(alg) = opts.sign_alg {
            args.extend(["--sign-alg", alg]);
        }
        if let Some(alg) = opts.digest_alg {
            args.extend(["--digest-alg", alg]);
        }
        if opts.unsolicited {
            args.push("--unsolicited");
        }
        idp_py(&args, None)
    }
}

/// How the IdP should answer.
pub struct Respond {
    pub sign: &'static str,
    pub name_id: String,
    pub identity: Vec<(&'static str, Vec<String>)>,
    pub sign_alg: Option<&'static str>,
    pub digest_alg: Option<&'static str>,
    pub lifetime_minutes: u32,
    pub unsolicited: bool,
}

impl Default for Respond {
    fn default() -> Self {
        Respond {
            sign: "assertion",
            name_id: "alice@example.org".into(),
            identity: vec![
                ("mail", vec!["alice@example.org".into()]),
                ("displayName", vec!["Alice Example".into()]),
                ("role", vec!["member".into()]),
            ],
            sign_alg: Some(RSA_SHA256),
            digest_alg: Some(SHA256),
            lifetime_minutes: 15,
            unsolicited: false,
        }
    }
}

pub fn sp() -> SpConfig {
    SpConfig::new(SP_ENTITY, ACS_URL)
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The URL-decoded value of `name` in `url`'s query.
pub fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let raw = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap();
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A JSON object of string lists (the identity), without a JSON dependency.
fn serde_json_lite(identity: &[(&str, Vec<String>)]) -> String {
    let s = |v: &str| {
        let mut o = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => o.push_str("\\\""),
                '\\' => o.push_str("\\\\"),
                c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                c => o.push(c),
            }
        }
        o.push('"');
        o
    };
    let fields: Vec<String> = identity
        .iter()
        .map(|(k, vs)| {
            let vals: Vec<String> = vs.iter().map(|v| s(v)).collect();
            format!("{}: [{}]", s(k), vals.join(", "))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}
