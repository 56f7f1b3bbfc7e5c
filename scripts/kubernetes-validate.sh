#!/usr/bin/env bash
# Installs kubernetes-validate (PyPI, pinned; it ships the Kubernetes OpenAPI JSON schemas of
# every release it knows) into a private virtualenv and prints the path of its command. The
# Kubernetes launcher's tests (crates/k8s/tests/schema.rs) hold the pods, secrets and RBAC
# objects meetvault generates to those schemas, strictly (unknown fields are errors).
# Idempotent: a no-op when the pinned version is present.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/kv-venv"
VERSION=1.37.0

installed() {
  [ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" = "$VERSION" ] ||
    "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$VERSION')" 2>/dev/null
}

if ! installed; then
  echo "deps: installing kubernetes-validate $VERSION into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$VERSION" >&2
  installed || { echo "deps: kubernetes-validate did not install into $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/kubernetes-validate"
