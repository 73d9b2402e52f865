"""The demo's post office in a process of its own: a real SMTP server (aiosmtpd) and a webhook
receiver (an HTTP server), writing what arrives into a spool folder.

Run as ``python -m demo.post_office SPOOL``: it prints ``<smtp port> <webhook port>`` once both
listen, then serves until stopped. Each mail is ``SPOOL/mail/<n>.eml`` (its bytes as they came);
each webhook delivery ``SPOOL/hook/<n>.json`` (its headers and body). A file appears whole (it
is written aside, then renamed), numbered in the order of arrival.

Why a process: on a thread of the demo's own process, every SMTP reply of the server waited for
the interpreter lock that the services held (Python hands it over every 5 ms), so each mail's
half-dozen commands could take tens of milliseconds; here the replies come from the other core.
Imports are kept to what the servers need: the process starts in a fraction of a second.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Spool:
    """Numbered files, each written aside and renamed into place."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def put(self, suffix: str, data: bytes) -> None:
        with self._lock:
            n = next(self._numbers)
        final = self.folder / f"{n:08d}{suffix}"
        aside = final.with_suffix(".part")
        aside.write_bytes(data)
        aside.rename(final)


class Mails:
    """aiosmtpd's handler: every accepted mail into the spool."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.spool.put(".eml", bytes(envelope.content))
        return "250 OK"


def serve(folder: Path) -> None:
    from aiosmtpd.controller import Controller

    mails, hooks = Spool(folder / "mail"), Spool(folder / "hook")
    with socket.socket() as probe:  # aiosmtpd checks its own port once started: not 0
        probe.bind(("127.0.0.1", 0))
        smtp_port = int(probe.getsockname()[1])
    controller = Controller(Mails(mails), hostname="127.0.0.1", port=smtp_port)
    controller.start()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            record = {
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": base64.b64encode(body).decode(),
            }
            hooks.put(".json", json.dumps(record).encode())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(smtp_port, http.server_address[1], flush=True)
    try:
        while not stop.wait(0.5):
            if os.getppid() == 1:  # the demo is gone without stopping us
                break
    finally:
        http.shutdown()
        controller.stop()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
