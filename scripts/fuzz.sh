#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/: cargo-fuzz and libFuzzer, with AddressSanitizer)
# and prints one line of figures per target, the lines BENCHMARKS.md ("Fuzzing") records.
#   bash scripts/fuzz.sh [TARGET...]      every target (codec wire manifest lines mcp_args)
# Each runs until RUNS executions (default 1000000) or SECONDS (default 600), whichever
# comes first, with no input over MAX_LEN bytes (default 4096), every allocation over 64 MiB
# a failure, and an input that takes over 10 s a hang. Its corpus grows in
# target/fuzz-corpus/TARGET, from the seeds in fuzz/seeds/TARGET; what fails is written to
# fuzz/artifacts/TARGET/ and stops that target (a crash becomes a regression test in
# `cargo test`). Needs the nightly toolchain and cargo-fuzz (installed here if missing);
# neither is part of the test command, which runs the regression and property tests only.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-1000000}
seconds=${SECONDS_PER_TARGET:-600}
max_len=${MAX_LEN:-4096}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(codec wire manifest lines mcp_args)

rustup toolchain list | grep -q '^nightly' || {
  echo "scripts/fuzz.sh needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
}
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --version 0.13.2 --locked

(cd fuzz && for t in "${targets[@]}"; do cargo +nightly fuzz build "$t"; done)

status=0
printf '%-9s %10s %7s %7s %8s %9s %s\n' target runs seconds cov features corpus result
for t in "${targets[@]}"; do
  corpus="target/fuzz-corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  log="target/fuzz-corpus/$t.log"
  start=$(date +%s)
  set +e
  fuzz/target/x86_64-unknown-linux-gnu/release/"$t" "$corpus" "fuzz/seeds/$t" \
    -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" \
    -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  done_line=$(grep -E '^#[0-9]+' "$log" | tail -1)
  executed=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(printf '%s' "$done_line" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  ft=$(printf '%s' "$done_line" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  corp=$(printf '%s' "$done_line" | grep -oE 'corp: [0-9]+/[0-9a-zA-Z]+' | cut -d' ' -f2 || echo "?")
  if [ "$rc" -eq 0 ]; then
    result="no crash"
  else
    result="FAILED ($(grep -oE 'SUMMARY: .*|panicked at [^ ]*' "$log" | head -1)); see $log and fuzz/artifacts/$t/"
    status=1
  fi
  printf '%-9s %10s %7s %7s %8s %9s %s\n' "$t" "$executed" "$took" "$cov" "$ft" "$corp" "$result"
done
exit $status
