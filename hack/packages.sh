#!/usr/bin/env bash
# Installs the Debian packages the tests drive as a person would: Prometheus
# (the quality gate's SLI provider tests scrape a test exporter with it),
# Chromium (the Bridge's browser tests) and tmux (the CLI's terminal tests).
# Idempotent: installs only what is missing. Needs root (CI and the dev
# machines run as root); prints the exports the tests read.
#   eval "$(hack/packages.sh)"
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if ((${#need[@]})); then
  echo "packages: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
echo "export SLIPWAY_PROMETHEUS=$(command -v prometheus)"
echo "export SLIPWAY_CHROMIUM=$(command -v chromium)"
echo "export SLIPWAY_TMUX=$(command -v tmux)"
