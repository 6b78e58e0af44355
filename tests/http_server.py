"""Real HTTP servers on 127.0.0.1 for tests: one serves a folder, with Range and failure knobs; one passes requests
on to another server, failing those of chosen paths."""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit


@dataclass
class Knobs:
    """How the server misbehaves; it also records every request it saw."""

    ignore_range: bool = False  # answer 200 with the whole file even when asked for a Range
    fail_first: int = 0  # answer the first N GET requests with `fail_status`
    fail_status: int = 500
    cut_after: int | None = None  # close the connection after this many body bytes ...
    cut_times: int = 1  # ... on this many responses
    hold: threading.Event | None = None  # answer no GET until it is set (a download that stalls)
    requests: list[dict[str, str]] = field(default_factory=list)  # path and headers of each request
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ranges(self) -> list[str]:
        """The Range headers received, in order."""
        return [r["Range"] for r in self.requests if "Range" in r]


def _handler(root: Path, knobs: Knobs) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `root` and `knobs`."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            if body and knobs.hold is not None:
                knobs.requests.append({"path": self.path, "held": "yes"})
                knobs.hold.wait(timeout=120)
            with knobs.lock:
                knobs.requests.append({"path": self.path, **dict(self.headers)})
                fail = body and knobs.fail_first > 0
                if fail:
                    knobs.fail_first -= 1
                cut = body and knobs.cut_after is not None and knobs.cut_times > 0
                if cut:
                    knobs.cut_times -= 1
            if fail:
                return self._empty(knobs.fail_status)
            path = (root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
            if not path.is_file() or not path.is_relative_to(root):
                return self._empty(404)
            data = path.read_bytes()
            start, status = 0, 200
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if match and not knobs.ignore_range:
                start = int(match[1])
                end = int(match[2]) + 1 if match[2] else len(data)
                if start >= len(data):
                    return self._empty(416, {"Content-Range": f"bytes */{len(data)}"})
                data, status = data[start:end], 206
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{start + len(data) - 1}/{path.stat().st_size}")
            self.end_headers()
            if not body:
                return
            if cut:
                # Promise the whole body in Content-Length, then hang up early.
                self.wfile.write(data[: knobs.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextlib.contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run a threaded server of `handler` on a free port; yield its base URL (no trailing slash)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits up to one interval, and tests start many servers.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_directory(path: str | Path, knobs: Knobs | None = None) -> contextlib.AbstractContextManager[str]:
    """Serve the files under `path` on a free port; yield the base URL (no trailing slash)."""
    return _serving(_handler(Path(path).resolve(), knobs or Knobs()))


def proxy(target: str, failing: dict[str, int]) -> contextlib.AbstractContextManager[str]:
    """Pass every request on to the server at `target` and back, except those whose path starts with a key of
    `failing` (read at each request, so a test may change it): answered with that status and an MLflow-style error
    body, as a server whose database fails (500) or a login proxy that refuses (403) answers."""
    import json

    import requests

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _pass(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = next((s for prefix, s in failing.items() if self.path.startswith(prefix)), None)
            if status is not None:
                data = json.dumps({"error_code": "INTERNAL_ERROR" if status >= 500 else "PERMISSION_DENIED",
                                   "message": f"the proxy answers {status} for {self.path}"}).encode()
                headers = {"Content-Type": "application/json"}
            else:
                skip = {"host", "content-length", "connection"}
                answer = requests.request(self.command, target + self.path, data=body, timeout=60,
                                          headers={k: v for k, v in self.headers.items() if k.lower() not in skip})
                status, data = answer.status_code, answer.content
                headers = {"Content-Type": answer.headers.get("Content-Type", "application/json")}
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _pass

    return _serving(Handler)
