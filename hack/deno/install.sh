#!/usr/bin/env bash
# Installs the pinned deno (npm package deno@2.9.6, see package.json) under
# hack/deno/node_modules and prints the absolute path of the platform binary.
# Idempotent: if the binary is already there it only prints the path.
# Use:  export SLIPWAY_DENO="$(hack/deno/install.sh)"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

find_bin() {
  local d
  for d in node_modules/@deno/*/; do
    if [[ -x "${d}deno" ]]; then
      echo "$here/${d}deno"
      return 0
    fi
  done
  return 1
}

if ! bin="$(find_bin)"; then
  # --ignore-scripts: the binary ships in the optional platform package
  # (@deno/linux-x64-glibc etc.); deno's postinstall is not needed.
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error >&2
  bin="$(find_bin)" || { echo "deno binary not found under $here/node_modules/@deno after npm install" >&2; exit 1; }
fi
"$bin" --version >/dev/null
echo "$bin"
