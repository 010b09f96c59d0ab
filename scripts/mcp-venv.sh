#!/usr/bin/env bash
# Creates the Python virtualenv the MCP tests run their third-party client from
# (target/mcp-venv, with the `mcp` package from PyPI). Idempotent: an existing venv that
# already imports `mcp` is kept. `tests/mcp.rs` runs this itself when the venv is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MCP_VENV:-$root/target/mcp-venv}"
# The 1.x line: its client API (ClientSession, stdio_client, streamable_http_client) is what
# tests/mcp/client.py is written against; 2.x renamed result fields.
spec='mcp>=1.20,<2'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import mcp' 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
"$venv/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"), "in", __import__("sys").prefix)'
