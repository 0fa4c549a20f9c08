#!/usr/bin/env python3
"""The S3-compatible server of the test command: moto's server with its writes made atomic.

Usage: scripts/s3-test-server.py PORT   (binds 127.0.0.1)

moto 5.2.1 checks a conditional PUT's condition (If-Match / If-None-Match) and stores the object
later in the same request thread, with no lock between the two, so two concurrent conditional
PUTs can both pass (scripts/moto-conditional-race.py shows it against plain moto). Real S3,
GCS and Azure apply a condition and the write it guards atomically, and the library's
read-modify-write of shared dataset files counts on that. This runs moto's own WSGI application
in werkzeug's threaded server, as `python3 -m moto.server` does, but lets one request that
changes the store (PUT, POST, DELETE) run at a time; reads stay concurrent. A write holds the
lock only while moto handles it (reading its body from the client, checking, storing), never
while waiting on another request, so this cannot deadlock.
"""
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

WRITES = {"PUT", "POST", "DELETE"}


class SerializedWrites:
    """WSGI middleware: one store-changing request at a time."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in WRITES:
            return self.app(environ, start_response)
        with self.lock:
            # Drain the body inside the lock: moto's handling (condition and store) is done.
            return list(self.app(environ, start_response))


def main():
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, SerializedWrites(app), threaded=True)


if __name__ == "__main__":
    main()
