#!/usr/bin/env bash
# Runs locally exactly what CI runs: install what is missing, format, lint, audit, test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
bash scripts/unsafe-audit.sh
cargo test --workspace --locked
