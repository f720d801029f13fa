#!/usr/bin/env bash
# Runs the README's test command N times in a row (default 3) with a CPU-heavy job beside it: one busy
# process per core for the whole run. A suite that leans on timing fails here first.
# usage: scripts/soak.sh [N]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cores=$(nproc 2>/dev/null || echo 2)
burners=()
for _ in $(seq "$cores"); do
  node -e 'for (;;) {}' &
  burners+=($!)
done
trap 'kill "${burners[@]}" 2>/dev/null' EXIT
echo "soak: $runs runs of npm test beside $cores busy processes"
failed=0
for i in $(seq "$runs"); do
  start=$SECONDS
  if npm test >"/tmp/soak-$i.log" 2>&1; then result=passed; else result=FAILED; failed=$((failed + 1)); fi
  echo "run $i: $result in $((SECONDS - start)) s; $(grep -E '^Tests:' "/tmp/soak-$i.log" | tail -1)"
done
echo "soak: $((runs - failed)) passed, $failed failed"
[ "$failed" = 0 ]
