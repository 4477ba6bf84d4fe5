#!/usr/bin/env bash
# Runs the one test suite on Node (via tsx), Deno and Bun, prints each runner's summary and a
# combined closing line, and fails when any runtime fails.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/support/install-system-deps.sh || exit 1
bin=node_modules/.bin
status=0
passed=0
failed=0
skipped=0
log=$(mktemp -d)

run() { # name, command...
  local name=$1
  shift
  echo "=== tests on $name: $*"
  "$@" >"$log/$name.out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then
    cat "$log/$name.out"
    status=1
  fi
  return $rc
}

run node node --import tsx --test --test-concurrency=1 $(find tests -name '*.test.ts' | sort)
p=$(grep -E '^# pass ' "$log/node.out" | awk '{print $3}'); f=$(grep -E '^# fail ' "$log/node.out" | awk '{print $3}')
s=$(grep -E '^# skipped ' "$log/node.out" | awk '{print $3}')
echo "node: ${p:-0} passed, ${f:-?} failed, ${s:-0} skipped"; grep -E '^# (tests|pass|fail|skipped|cancelled) ' "$log/node.out"
grep -E '^ *ok .*# SKIP' "$log/node.out" | sed 's/^ */  skipped: /' || true
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1})); skipped=$((skipped + ${s:-0}))

NO_COLOR=1 run deno "$bin/deno" test -A --no-check --reporter=tap tests/
# In TAP, a result right after a nested plan line ("1..N") closes a suite; the others are tests.
counts=$(awk '/^[[:space:]]*(not )?ok [0-9]/ { if (prev !~ /^[[:space:]]+1\.\.[0-9]+$/) { if ($0 ~ /# SKIP/) s++; else if ($1 == "not") f++; else p++ } } { prev = $0 } END { print p+0, f+0, s+0 }' "$log/deno.out")
read -r p f s <<<"$counts"
grep -qE '^(not )?ok ' "$log/deno.out" || f=1
echo "deno: $p passed, $f failed, $s skipped"; grep -E '# SKIP' "$log/deno.out" | sed 's/^ */  skipped: /' || true
passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))

run bun "$bin/bun" test --timeout 120000 tests/
p=$(grep -E '^ *[0-9]+ pass$' "$log/bun.out" | awk '{print $1}'); f=$(grep -E '^ *[0-9]+ fail$' "$log/bun.out" | awk '{print $1}')
s=$(grep -E '^ *[0-9]+ skip$' "$log/bun.out" | awk '{print $1}')
echo "bun: ${p:-0} passed, ${f:-?} failed, ${s:-0} skipped"; grep -E '^Ran [0-9]+ tests' "$log/bun.out"
grep -E '^\(skip\)' "$log/bun.out" | sort -u | sed 's/^/  skipped: /' || true
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1})); skipped=$((skipped + ${s:-0}))

rm -rf "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
