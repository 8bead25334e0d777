#!/usr/bin/env bash
# Runs test files with node's test runner (Node 20's runner takes no globs).
# Usage: scripts/test.sh [DIR|FILE ...]   (default: every test under test/)
set -euo pipefail
cd "$(dirname "$0")/.."
roots=("$@")
[ ${#roots[@]} -eq 0 ] && roots=(test)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files under ${roots[*]}" >&2
  exit 1
fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
