"""A real S3 API server for the tests: moto's, in server mode, on the loopback address.

Run as a program: ``python s3_server.py`` binds 127.0.0.1 on a free port, prints the port
on its first line, and serves until killed. Requests pass through a meter first, so that
tests can ask what a read really cost: ``GET /__meter__`` returns the requests and the
bytes sent and received since the last ``DELETE /__meter__``, by HTTP method, and the
most requests of each method that were in flight at once ("concurrent").
"""
import json
import sys
import threading

from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                           create_backend_app)
from werkzeug.serving import make_server

METER_PATH = "/__meter__"


class Meter:
    """WSGI middleware counting requests and body bytes in each direction."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.counts: dict = {}
        self.in_flight: dict = {}

    def _count(self, method: str) -> dict:
        return self.counts.setdefault(method, {"requests": 0, "sent": 0, "received": 0,
                                               "concurrent": 0})

    def _start(self, method: str) -> None:
        with self.lock:
            now = self.in_flight[method] = self.in_flight.get(method, 0) + 1
            count = self._count(method)
            count["concurrent"] = max(count["concurrent"], now)

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
            with self.lock:
                body = json.dumps(self.counts).encode()
                if method == "DELETE":
                    self.counts = {}
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
