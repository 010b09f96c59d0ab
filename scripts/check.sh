#!/usr/bin/env bash
# Runs locally exactly what CI runs, in two tiers, and prints how long each phase took:
#   bash scripts/check.sh           the whole check (CI's): install what is missing, format,
#                                   the shared crates' features, clippy, docs, the fuzz targets
#                                   (built, not run), the unsafe audit, every test
#                                   (BENCHMARKS.md, "The test suite", has its budget)
#   bash scripts/check.sh --quick   the edit-test loop: format, clippy, docs, every crate's unit
#                                   tests (the rules, the loader, the shell, the modules); no
#                                   end-to-end test, no install (under 2 minutes on a built target)
set -euo pipefail
cd "$(dirname "$0")/.."

tier=full
case "${1:-}" in
  "") ;;
  --quick) tier=quick ;;
  *)
    echo "usage: bash scripts/check.sh [--quick]" >&2
    exit 2
    ;;
esac

# Each phase's name and seconds, printed as a table when the check ends (passed or not).
phases=()
now_ms() { date +%s%3N; }
seconds() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
started=$(now_ms)
current=
current_t0=$started
summary() {
  local status=$?
  [ "$status" = 0 ] || [ -n "$current" ] || current="(setup)"
  echo
  echo "check ($tier): phase times"
  for p in "${phases[@]}"; do
    printf '  %-14s %8s s\n' "${p%%|*}" "$(seconds "${p##*|}")"
  done
  if [ -n "$current" ]; then
    printf '  %-14s %8s s (failed here)\n' "$current" "$(seconds $(($(now_ms) - current_t0)))"
  fi
  printf '  %-14s %8s s (%s)\n' "total" "$(seconds $(($(now_ms) - started)))" "$([ "$status" = 0 ] && echo passed || echo FAILED)"
}
trap summary EXIT

phase() {
  local name=$1
  shift
  echo "== check: $name: $*" >&2
  current=$name
  current_t0=$(now_ms)
  "$@"
  phases+=("$name|$(($(now_ms) - current_t0))")
  current=
}

hakari() {
  # workspace-hack/ lists every feature any member asks of a third-party crate, and every
  # member depends on it: then no build of a part of the workspace rebuilds the api differently.
  cargo hakari generate --diff
  cargo hakari manage-deps --dry-run
}

if [ "$tier" = full ]; then
  phase install bash scripts/install-deps.sh
fi
phase fmt cargo fmt --all -- --check
if [ "$tier" = full ]; then
  phase hakari hakari
fi
phase clippy cargo clippy --workspace --all-targets --locked -- -D warnings
# The code map's links and every `//!` line must hold: broken intra-doc links fail the check.
phase doc env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --document-private-items --locked
if [ "$tier" = quick ]; then
  # Unit tests only: every crate's lib and bin tests, not the end-to-end binaries in tests/.
  phase unit-tests cargo test --workspace --lib --bins --locked
  exit 0
fi
fuzz_targets() {
  # The fuzz targets compile the parsers' own files: a parser that names something new must
  # still build there (on stable; running them needs nightly: scripts/fuzz.sh).
  cargo fmt --manifest-path fuzz/Cargo.toml -- --check
  cargo clippy --manifest-path fuzz/Cargo.toml --locked -- -D warnings
}
phase fuzz-targets fuzz_targets
phase unsafe-audit bash scripts/unsafe-audit.sh
phase test-build cargo test --workspace --locked --no-run
phase tests cargo test --workspace --locked
