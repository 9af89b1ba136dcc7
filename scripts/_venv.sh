# Sourced by scripts/run and scripts/test: make .venv and install a requirements file into it,
# skipping pip when that file has not changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ensure_venv() {
  local requirements=$1
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  local stamp=".venv/.installed-$(basename "$requirements")"
  local digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "Installing $requirements into .venv (first run takes a minute or two)..."
    .venv/bin/python -m pip install -q -r "$requirements"
    echo "$digest" > "$stamp"
  fi
}
