#!/usr/bin/env bash
# Counts every use of `unsafe` in our sources and checks the count README.md states.
# ARCHITECTURE.md, invariant 9: unsafe lives only in the api's export macro and the loader's library
# loading; module authors write none.
set -euo pipefail
cd "$(dirname "$0")/.."

uses=$(grep -rn --include='*.rs' -E '\bunsafe\b' api module-rules module-loader editor-shell modules tests \
  | grep -vE '^[^:]+:[0-9]+:\s*//' | grep -vE 'unsafe_code' || true)
count=$(printf '%s' "$uses" | grep -c . || true)
outside=$(printf '%s\n' "$uses" | grep -vE '^(api/src/module.rs|module-loader/src/library.rs):' | grep . || true)

if [ -n "$outside" ]; then
  echo "unsafe outside the api's export macro and the loader's library.rs:" >&2
  echo "$outside" >&2
  exit 1
fi
stated=$(grep -oE 'uses `unsafe` in exactly [0-9]+ places' README.md | grep -oE '[0-9]+' || echo "?")
if [ "$stated" != "$count" ]; then
  echo "README.md says $stated uses of unsafe, the sources have $count:" >&2
  echo "$uses" >&2
  exit 1
fi
echo "unsafe audit: $count uses, all in the two audited places (the loader's library.rs, the api's module.rs)"
