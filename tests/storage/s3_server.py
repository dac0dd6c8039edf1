"""A real S3 API server for the tests: moto's, in server mode, on the loopback address.

Run as a program: ``python s3_server.py`` binds 127.0.0.1 on a free port, prints the port
on its first line, and serves until killed. Requests pass through a meter first, so that
tests can ask what a read really cost: ``GET /__meter__`` returns the requests and the
bytes sent and received since the last ``DELETE /__meter__``, by HTTP method, and the
most requests of each method that were in flight at once ("concurrent").

``POST /__meter__?gate=PUT:2`` sets a gate, for tests of concurrency that must hold on a
loaded machine: each PUT then waits until 2 PUTs are in flight at once (the gate then
stays open), or until GATE_SECONDS have passed (the gate is then removed). A client that
sends its uploads together meets at the gate at once, whatever the load; one that sends
them one after another never has two in flight, and its "concurrent" stays 1. A reset
(DELETE) removes the gate too.
"""
import json
import sys
import threading
import time
import urllib.parse

from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                           create_backend_app)
from werkzeug.serving import make_server

METER_PATH = "/__meter__"
GATE_SECONDS = 10.0


class Meter:
    """WSGI middleware counting requests and body bytes in each direction."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Condition()
        self.counts: dict = {}
        self.in_flight: dict = {}
        self.gate: tuple | None = None   # (method, requests in flight that open it)

    def _count(self, method: str) -> dict:
        return self.counts.setdefault(method, {"requests": 0, "sent": 0, "received": 0,
                                               "concurrent": 0})

    def _start(self, method: str) -> None:
        with self.lock:
            now = self.in_flight[method] = self.in_flight.get(method, 0) + 1
            count = self._count(method)
            count["concurrent"] = max(count["concurrent"], now)
            self.lock.notify_all()
            if self.gate is None or self.gate[0] != method:
                return
            deadline = time.monotonic() + GATE_SECONDS
            while self.gate is not None and self.in_flight.get(method, 0) < self.gate[1]:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.gate = None        # nobody came: the count shows it
                    return
                self.lock.wait(left)
            self.gate = None                # met: open for good
            self.lock.notify_all()

    def _add(self, method: str, sent: int, received: int) -> None:
        with self.lock:
            self.in_flight[method] -= 1
            count = self._count(method)
            count["requests"] += 1
            count["sent"] += sent
            count["received"] += received

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if environ.get("PATH_INFO") == METER_PATH:
            # A client has its answer a moment before the request is counted (the count
            # is taken when the response body is done): let those finish first.
            deadline = time.monotonic() + 5
            while any(self.in_flight.values()) and time.monotonic() < deadline:
                time.sleep(0.005)
            with self.lock:
                body = json.dumps(self.counts).encode()
                if method == "DELETE":
                    self.counts = {}
                    self.gate = None
                    self.lock.notify_all()
                elif method == "POST":
                    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
                    gate_method, _, number = query["gate"][0].partition(":")
                    self.gate = (gate_method.upper(), int(number))
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        received = int(environ.get("CONTENT_LENGTH") or 0)
        self._start(method)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._add(method, 0, received)
            raise

        def counted():
            sent = 0
            try:
                for chunk in body:
                    sent += len(chunk)
                    yield chunk
            finally:
                if hasattr(body, "close"):
                    body.close()
                self._add(method, sent, received)
        return counted()


def main() -> None:
    app = Meter(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         request_handler=MotoRequestHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
