"""Floods a Playground game host with connections that never say hello, as a hostile local
process would, and reports what the host did with them.

    flood.py HOST:PORT COUNT SECONDS

Keeps COUNT connections open to HOST:PORT (loopback only; it raises its own open-file limit to
fit) for SECONDS: each one the host closes is replaced by a new one, up to 20 * COUNT in all.
Then it opens no more and waits (6 s at most) for the host to close what is left.
They come from eight loopback addresses, half from 127.0.0.2 and the rest from 127.0.0.3 to
127.0.0.9, so both the host's cap per address and its cap in all are reached. Every fourth one announces a frame just under 4 MiB and
sends nothing more; the rest send nothing at all. It reads whatever the host sends (a goodbye, with the reason), then prints one
JSON line: how many it opened, how many the host closed (by the reason it gave), and how many
were still open at the end. Run by tests/network.rs; every loop is bounded in count and time.
"""

import json
import resource
import selectors
import socket
import sys
import time

REASONS = ("did not say hello", "too many connections from", "too many connections waiting", "bad frame")


def main(addr, count, seconds):
    host, port = addr.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("loopback only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))

    selector = selectors.DefaultSelector()
    opened, failed, closed, reasons = 0, 0, 0, {}

    def connect():
        nonlocal opened, failed
        try:
            source = ("127.0.0.2" if opened % 2 == 0 else f"127.0.0.{3 + opened // 2 % 7}", 0)
            s = socket.create_connection((host, int(port)), timeout=2, source_address=source)
        except OSError:
            failed += 1
            return
        if opened % 4 == 3:
            s.sendall(((4 << 20) - 1).to_bytes(4, "big"))
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ, bytearray())
        opened += 1

    flooding_until = time.monotonic() + seconds
    deadline = flooding_until + 6
    while time.monotonic() < deadline and (time.monotonic() < flooding_until or selector.get_map()):
        while time.monotonic() < flooding_until and len(selector.get_map()) < count and opened + failed < 20 * count:
            connect()
        for key, _ in selector.select(timeout=0.05):
            try:
                data = key.fileobj.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if data:
                key.data.extend(data)
                continue
            text = key.data.decode("utf-8", "replace")
            reason = next((r for r in REASONS if r in text), "no reason")
            reasons[reason] = reasons.get(reason, 0) + 1
            selector.unregister(key.fileobj)
            key.fileobj.close()
            closed += 1
    print(json.dumps({"opened": opened, "failed": failed, "closed": closed, "reasons": reasons,
                      "open": len(selector.get_map())}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
