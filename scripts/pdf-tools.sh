#!/usr/bin/env bash
# Installs the peers the PDF text extraction is held to (crates/intel/tests/docs_pdf.rs):
# poppler's pdftotext (Debian: poppler-utils) reads the PDFs that reportlab and fpdf2 (PyPI,
# pinned, in a private virtualenv) write, set in DejaVu Sans (Debian: fonts-dejavu-core);
# meetvault's extraction must find the same words. Prints that virtualenv's python.
# Idempotent.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/pdf-venv"
REPORTLAB=4.5.1
FPDF2=2.8.3

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# pdftotext and pdfinfo; DejaVu Sans, the TrueType font with Unicode the fixtures are set in.
apt_missing=()
command -v pdftotext >/dev/null || apt_missing+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_missing+=(fonts-dejavu-core)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "deps: installing ${apt_missing[*]} with apt-get" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2
  command -v pdftotext >/dev/null || { echo "deps: pdftotext did not install" >&2; exit 1; }
fi

installed() {
  "$VENV/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('reportlab') != '$REPORTLAB' or m.version('fpdf2') != '$FPDF2')" 2>/dev/null
}

if ! installed; then
  echo "deps: installing reportlab $REPORTLAB and fpdf2 $FPDF2 into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "reportlab==$REPORTLAB" "fpdf2==$FPDF2" >&2
  installed || { echo "deps: reportlab or fpdf2 did not install into $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
