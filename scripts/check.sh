#!/usr/bin/env bash
# Runs locally exactly what CI runs: install what is missing, format, lint, docs, audit, test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cargo fmt --all -- --check
# workspace-hack/ lists every feature any member asks of a third-party crate, and every member
# depends on it: then no build of a part of the workspace rebuilds the api differently.
cargo hakari generate --diff
cargo hakari manage-deps --dry-run
cargo clippy --workspace --all-targets --locked -- -D warnings
# The code map's links and every `//!` line must hold: broken intra-doc links fail the check.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --document-private-items --locked
bash scripts/unsafe-audit.sh
cargo test --workspace --locked
