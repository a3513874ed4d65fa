"""A plain HTTP server on 127.0.0.1, on a port of its own, that records every request.

Stands for a remote host an answer points at (a tracking pixel, a framed page): on
another port than the arena it is another origin, as a remote host would be.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@dataclass
class RequestLog:
    url: str
    paths: list[str] = field(default_factory=list)


@contextmanager
def recording_server() -> Iterator[RequestLog]:
    log = RequestLog(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            log.paths.append(self.path)
            html = self.path.endswith(("frame", ".html"))
            body = b"<p>framed</p>" if html else PNG
            self.send_response(200)
            self.send_header("content-type", "text/html" if html else "image/png")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    log.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield log
    finally:
        server.shutdown()
        server.server_close()
