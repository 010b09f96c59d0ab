"""A real third-party MCP client (the Python `mcp` package) driving `playground`.

    client.py stdio <playground binary> <workspace root>
        starts `playground --headless --mcp stdio` over the workspace (a throwaway copy: this
        creates and edits a module in it) and runs the whole session: tools, modules, create,
        call, edit + reload, inspect, and bad inputs.
    client.py http <url>
        talks to a running `playground --mcp-http` over streamable HTTP: tools, calls, inspect,
        bad inputs, the token (none, a wrong one, one in the query string: 401), an oversized
        body (413), and the Host check.
    client.py capture <url> <png>
        asks for the game's view and writes the image.

Over HTTP the token is the one in the file named by $MCP_TOKEN_FILE (the editor's token file),
sent as `Authorization: Bearer`, as a user's client would after pasting the editor's line.

Every check raises with a message saying what was expected; the exit status is non-zero on
any failure. Run by tests/mcp.rs.
"""

import asyncio
import base64
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import McpError

TOOLS = {"module.list", "module.create", "module.reload", "debug.inspect", "module.call", "build.status", "view.capture"}
# Creating and reloading a module runs cargo.
BUILD = timedelta(seconds=600)
MODULE = "plugins/mcp-demo"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


async def ok(session, tool, args=None, timeout=None):
    """Calls a tool that must succeed; returns its JSON answer."""
    result = await session.call_tool(tool, args or {}, read_timeout_seconds=timeout)
    text = result.content[0].text if result.content else ""
    check(not result.isError, f"{tool} {args} failed: {text}")
    return json.loads(text)


async def err(session, tool, args, *expected, timeout=None):
    """Calls a tool that must fail; checks its message contains every `expected`."""
    result = await session.call_tool(tool, args, read_timeout_seconds=timeout)
    text = result.content[0].text if result.content else ""
    check(result.isError, f"{tool} {args} should have failed but answered: {text}")
    for part in expected:
        check(part in text, f"{tool} {args}: expected `{part}` in the error, got: {text}")
    print(f"  refused as expected: {tool} {json.dumps(args)} -> {text.splitlines()[0]}")
    return text


async def common(session):
    """What both transports must do: the handshake, the tools, module.list, bad inputs."""
    init = await session.initialize()
    check(init.serverInfo.name == "playground", f"server name: {init.serverInfo.name}")

    tools = (await session.list_tools()).tools
    names = {t.name for t in tools}
    check(names == TOOLS, f"tools: {sorted(names)}")
    for tool in tools:
        check(tool.description and len(tool.description) > 40, f"{tool.name} has no useful description")
        check(tool.inputSchema.get("type") == "object", f"{tool.name} schema: {tool.inputSchema}")
    call_schema = next(t for t in tools if t.name == "module.call").inputSchema
    check({"id", "method"} <= set(call_schema.get("required", [])), f"module.call schema: {call_schema}")

    modules = await ok(session, "module.list")
    by_id = {m["id"]: m for m in modules}
    check("systems/ecs" in by_id and "core/ecs" in by_id, f"module.list: {list(by_id)}")
    ecs = by_id["systems/ecs"]
    for field in ("id", "version", "layer", "status", "generation", "dependencies"):
        check(field in ecs, f"module.list entry lacks `{field}`: {ecs}")
    check(ecs["status"]["kind"] == "loaded" and ecs["generation"] >= 1, f"systems/ecs: {ecs}")
    check(ecs["dependencies"][0]["id"] == "core/ecs", f"systems/ecs dependencies: {ecs['dependencies']}")
    check(by_id["core/ecs"]["status"]["kind"] == "contract", f"core/ecs: {by_id['core/ecs']}")

    # Bad inputs: every one is a clear error, and the editor keeps answering.
    await err(session, "module.call", {"id": "plugins/nothing", "method": "get"}, "plugins/nothing")
    await err(session, "debug.inspect", {"id": "plugins/nothing"}, "there is no module `plugins/nothing`")
    await err(session, "module.call", {"id": 5, "method": "count"}, "deserialize")
    await err(session, "module.call", {"id": "systems/ecs"}, "method")
    await err(session, "module.call", {"id": "systems/ecs", "method": "count", "bogus": 1}, "bogus")
    await err(session, "module.call", {"id": "systems/ecs", "method": "fly"}, "unknown method `fly`")
    await err(session, "module.call", {"id": "systems/ecs", "method": "spawn", "args": "not a transform"})
    await err(session, "debug.inspect", {}, "id")
    try:
        await session.call_tool("module.explode", {})
        raise AssertionError("an unknown tool was accepted")
    except McpError as e:
        print(f"  refused as expected: unknown tool -> {e}")

    state = await ok(session, "debug.inspect", {"id": "systems/ecs"})
    check(state["module"]["id"] == "systems/ecs", f"debug.inspect: {state}")
    check(state["state"] is not None, f"systems/ecs has a state: {state}")
    build = await ok(session, "build.status")
    check("building" in build and "last" in build, f"build.status: {build}")


async def stdio_session(binary, root):
    root = Path(root)
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env.setdefault("RUST_LOG", "info")
    params = StdioServerParameters(
        command=binary, args=["--headless", "--mcp", "stdio", "--root", str(root)], env=env, cwd=str(root)
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await common(session)

            # Create: a real crate in modules/plugins, built and loaded.
            created = await ok(session, "module.create", {"id": MODULE, "description": "Made over MCP."}, BUILD)
            check(created["module"]["status"]["kind"] == "loaded", f"module.create: {created}")
            crate = Path(created["dir"])
            check(crate == root / "modules" / MODULE, f"created at {crate}")
            check((crate / "src/lib.rs").is_file() and (crate / "module.toml").is_file(), f"files: {created}")
            check(created["reload"]["outcome"]["kind"] == "swapped", f"load record: {created['reload']}")
            listed = {m["id"] for m in await ok(session, "module.list")}
            check(MODULE in listed, f"{MODULE} is not listed: {listed}")

            # Call it.
            check(await ok(session, "module.call", {"id": MODULE, "method": "hello"}) == f"hello from {MODULE}", "hello")
            check(await ok(session, "module.call", {"id": MODULE, "method": "add", "args": 5}) == 5, "add 5")
            await err(session, "module.call", {"id": MODULE, "method": "add", "args": "five"})

            # Edit its source and reload: new code, same state.
            lib = crate / "src/lib.rs"
            source = lib.read_text()
            lib.write_text(source.replace('"hello from ', '"hi from '))
            record = await ok(session, "module.reload", {"id": MODULE}, BUILD)
            check(record["outcome"]["kind"] == "swapped", f"reload: {record}")
            for phase in ("build_us", "save_us", "unload_us", "load_us", "init_us", "restore_us", "total_us"):
                check(phase in record["timings"], f"reload timings lack {phase}: {record['timings']}")
            check(record["timings"]["build_us"] > 0, f"the build is timed: {record['timings']}")
            # The build service ran it, as it runs live edit's: the rustc command the create's
            # cargo build recorded was re-run, and build.status names who asked.
            build = await ok(session, "build.status")
            check("module.reload" in build["last"]["requested_by"], f"build.status after the reload: {build}")
            check(build["last"]["fast_path"] is True, f"the reload took the rustc fast path: {build}")
            check(await ok(session, "module.call", {"id": MODULE, "method": "hello"}) == f"hi from {MODULE}", "new code")
            check(await ok(session, "module.call", {"id": MODULE, "method": "get"}) == 5, "the state survived")

            # Inspect its state.
            inspected = await ok(session, "debug.inspect", {"id": MODULE})
            check(inspected["state"]["total"] == 5, f"state: {inspected['state']}")
            check(inspected["module"]["generation"] >= 2, f"generation: {inspected['module']}")
            check(len(inspected["history"]) >= 2, f"history: {inspected['history']}")
            check(inspected["last_error"] is None, f"last error: {inspected['last_error']}")

            # Create refuses bad ids, existing ids, unknown layers and escapes.
            outside = root.parent / "escaped"
            await err(session, "module.create", {"id": "plugins/../../escaped"}, "lowercase")
            await err(session, "module.create", {"id": "../escaped"}, "does not exist")
            await err(session, "module.create", {"id": "escaped"}, "not a module id")
            await err(session, "module.create", {"id": "widgets/thing"}, "does not exist")
            await err(session, "module.create", {"id": MODULE}, "already exists")
            await err(session, "module.create", {"id": "systems/ecs"}, "already exists")
            await err(session, "module.create", {"id": "core/thing"}, "contracts")
            await err(session, "module.create", {"id": "plugins/x", "description": "two\nlines"}, "one line")
            check(not outside.exists(), f"{outside} was created")

            # A compile error: the reload fails with the diagnostic, the old code keeps running.
            lib.write_text(source.replace('"hello from ', '"hi from ').replace("fn create() -> Self {", "fn create() -> Self {{"))
            text = await err(session, "module.reload", {"id": MODULE}, "error", "old generation", timeout=BUILD)
            check("lib.rs" in text, f"the error names the file: {text}")
            check(await ok(session, "module.call", {"id": MODULE, "method": "hello"}) == f"hi from {MODULE}", "old code")
            build = await ok(session, "build.status")
            check(build["last"]["success"] is False, f"build.status after a failed build: {build}")
            errors = [d for d in build["last"]["diagnostics"] if d["level"] == "error"]
            check(errors and errors[0]["file"].endswith("src/lib.rs"), f"diagnostics: {build['last']}")
            await err(session, "module.reload", {"id": "plugins/nothing"}, "there is no module `plugins/nothing`")

            # Fixed, it goes live again.
            lib.write_text(source)
            record = await ok(session, "module.reload", {"id": MODULE}, BUILD)
            check(await ok(session, "module.call", {"id": MODULE, "method": "get"}) == 5, "state after the fix")
            print(f"stdio session passed (last reload {record['timings']['total_us']} us)")


def bearer():
    """The Authorization header a user's client sends: the token from the editor's file."""
    token = Path(os.environ["MCP_TOKEN_FILE"]).read_text().strip()
    check(len(token) == 64, f"a 256-bit token in hex, got {len(token)} characters")
    return {"Authorization": f"Bearer {token}"}


def authorized_session(url):
    return streamable_http_client(url, http_client=create_mcp_http_client(headers=bearer()))


async def refusals(url):
    """Who is let in, and what is read: every refusal comes before any MCP parsing."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "intruder", "version": "1"}}}
    token = bearer()["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient() as http:
        none = await http.post(url, json=body, headers=headers)
        check(none.status_code == 401, f"no token got {none.status_code}: {none.text}")
        check("playground mcp-token" in none.text, f"the refusal says how to get in: {none.text}")
        check(none.headers.get("www-authenticate", "").startswith("Bearer"), f"WWW-Authenticate: {none.headers}")
        wrong = await http.post(url, json=body, headers={**headers, "Authorization": "Bearer " + "0" * 64})
        check(wrong.status_code == 401, f"a wrong token got {wrong.status_code}: {wrong.text}")
        query = await http.post(f"{url}?token={token}", json=body, headers=headers)
        check(query.status_code == 401, f"a token in the query string got {query.status_code}: {query.text}")
        garbage = await http.post(url, content=b"\x00\xff not json", headers=headers)
        check(garbage.status_code == 401, f"garbage without a token got {garbage.status_code}: {garbage.text}")
        big = await http.post(url, content=b"x" * (2 << 20), headers={**headers, **bearer()})
        check(big.status_code == 413, f"a 2 MiB body got {big.status_code}: {big.text}")
        for answer in (none, wrong, query, garbage, big):
            check(token not in answer.text, "an answer holds the token")
    print("  refused as expected: no token, a wrong token, the token in the query string (401); 2 MiB (413)")


async def http_session(url):
    await refusals(url)
    async with authorized_session(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await common(session)
            entity = await ok(
                session,
                "module.call",
                {"id": "systems/ecs", "method": "spawn", "args": {"position": {"x": 1, "y": 2}, "velocity": {"x": 0, "y": 0}}},
            )
            check(entity == 3, f"spawn: {entity}")
            check(await ok(session, "module.call", {"id": "systems/ecs", "method": "count"}) == 4, "count")
            # No game here: the capture says so instead of answering a blank image.
            await err(session, "view.capture", {}, "no `apps/game` module is loaded")
            # A module that holds the editor's main thread is named while it does, not waited
            # for in silence (the counter fixture sleeps 4.5 s; the watchdog speaks after 3).
            await err(
                session,
                "module.call",
                {"id": "plugins/counter", "method": "hang", "args": 4500},
                "`plugins/counter` has been in `call` for",
                "still runs when it returns",
            )
            await asyncio.sleep(2)  # the hang ends; the editor answers again
            check(await ok(session, "module.call", {"id": "plugins/counter", "method": "add", "args": 2}) == 2, "add")

    # rmcp's Host check (DNS rebinding) is on: a foreign Host header is refused.
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx.AsyncClient(headers=bearer()) as http:
        evil = await http.post(url, json=body, headers={**headers, "Host": "evil.example.com"})
        check(evil.status_code == 403, f"a foreign Host header got {evil.status_code}: {evil.text}")
        browser = await http.post(url, json=body, headers={**headers, "Origin": "http://evil.example.com"})
        check(browser.status_code == 403, f"a browser Origin got {browser.status_code}: {browser.text}")
    print("http session passed")


async def capture_session(url, path):
    """Asks for the game's view and writes the image it answers to `path`."""
    async with authorized_session(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("view.capture", {})
            texts = [c.text for c in result.content if c.type == "text"]
            check(not result.isError, f"view.capture failed: {texts}")
            images = [c for c in result.content if c.type == "image"]
            check(len(images) == 1, f"one image: {result.content}")
            check(images[0].mimeType == "image/png", f"a PNG: {images[0].mimeType}")
            Path(path).write_bytes(base64.b64decode(images[0].data))
            print(f"  view.capture: {texts}")


async def main(argv):
    if len(argv) == 4 and argv[1] == "stdio":
        await stdio_session(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "http":
        await http_session(argv[2])
    elif len(argv) == 4 and argv[1] == "capture":
        await capture_session(argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    try:
        asyncio.run(asyncio.wait_for(main(sys.argv), timeout=1500))
    except AssertionError as e:
        print(f"MCP CHECK FAILED: {e}", file=sys.stderr)
        sys.exit(1)
