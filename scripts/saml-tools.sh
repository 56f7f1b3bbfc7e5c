#!/usr/bin/env bash
# Installs the peers the SAML service provider is held to (crates/saml/tests/): pysaml2 (PyPI,
# pinned, in a private virtualenv) acts as the identity provider and signs with the xmlsec1
# binary (Debian: xmlsec1); lxml (PyPI, pinned) is the reference for exclusive XML
# canonicalization. Prints that virtualenv's python. Idempotent; asks the network nothing once
# everything is there.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/saml-venv"
PYSAML2=7.5.5
LXML=6.1.3

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# xmlsec1 signs pysaml2's responses; openssl makes the test IdP's key and certificate.
apt_missing=()
command -v xmlsec1 >/dev/null || apt_missing+=(xmlsec1)
command -v openssl >/dev/null || apt_missing+=(openssl)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "deps: installing ${apt_missing[*]} with apt-get" >&2
  if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2
  fi
  command -v xmlsec1 >/dev/null || { echo "deps: xmlsec1 did not install" >&2; exit 1; }
fi

installed() {
  "$VENV/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('pysaml2') != '$PYSAML2' or m.version('lxml') != '$LXML')" 2>/dev/null
}

if ! installed; then
  echo "deps: installing pysaml2 $PYSAML2 and lxml $LXML into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "pysaml2==$PYSAML2" "lxml==$LXML" >&2
  installed || { echo "deps: pysaml2 or lxml did not install into $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
