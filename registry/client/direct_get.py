"""GetLayerVersion without botocore's client machinery: the one call an install makes per layer.

botocore spends about 0.7 ms of CPU on each call (parameter checks, event hooks, parsing), three
times what signing and sending take, and in a warm install that CPU competes for the GIL with the
merge started meanwhile. Here the request is signed with botocore's own SigV4 signer and the
credentials of the same session, and sent on a plain HTTP connection. A request can be sent now
and its answer read later, so an install puts every layer's request in flight at once and the
server answers while the client merges. Only a 200 is used: anything else (an error, a redirect,
a dropped connection) gives None, and the caller asks botocore, whose retries and error parsing
then apply as for every other call.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

_API = "/2018-10-31/layers"
_TIMEOUT = 60
# Servers close idle kept-alive connections (gunicorn after 2 s); a request sent on one that is
# already closed is only found out when its answer is read, too late to overlap with anything.
_KEEP_IDLE_SECONDS = 1.0


class DirectGetLayerVersion:
    def __init__(
        self, endpoint_url: str, region: str, credentials, *, ca_bundle: str | None = None
    ):
        parts = urlsplit(endpoint_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base = parts.path.rstrip("/")
        self._host, self._port = parts.hostname, parts.port
        self._tls = (
            ssl.create_default_context(cafile=ca_bundle) if parts.scheme == "https" else None
        )
        self._region = region
        self._credentials = credentials
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []  # with when it went idle
        self._lock = threading.Lock()
        self._failed = False

    def __call__(self, layer_name: str, version: int) -> dict | None:
        sent = self.send(layer_name, version)
        return sent.result() if sent is not None else None

    def send(self, layer_name: str, version: int) -> SentRequest | None:
        """Send the request now; `result()` reads the answer. None if it could not be sent."""
        if self._failed:
            return None
        # Encoded as botocore encodes a URI label: everything but unreserved characters.
        path = f"{self._base}{_API}/{quote(layer_name, safe='~')}/versions/{int(version)}"
        request = AWSRequest(method="GET", url=self._origin + path)
        try:
            SigV4Auth(self._credentials.get_frozen_credentials(), "lambda", self._region).add_auth(
                request
            )
        except Exception:
            self._give_up()
            return None
        sent = SentRequest(self, path, dict(request.headers.items()))
        return sent if sent.send(reuse=True) else None

    def _connection(self, reuse: bool) -> tuple[http.client.HTTPConnection, bool]:
        """(a connection, whether it was used before)."""
        if reuse:
            with self._lock:
                while self._idle:
                    connection, since = self._idle.pop()
                    if time.monotonic() - since < _KEEP_IDLE_SECONDS:
                        return connection, True
                    connection.close()
        if self._tls is not None:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=_TIMEOUT, context=self._tls
            ), False
        return http.client.HTTPConnection(self._host, self._port, timeout=_TIMEOUT), False

    def _release(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.append((connection, time.monotonic()))

    def _give_up(self) -> None:
        # botocore makes the same call and reports properly; a way that failed once (TLS trust,
        # a network only botocore's settings reach) is not tried again.
        self._failed = True


class SentRequest:
    def __init__(self, owner: DirectGetLayerVersion, path: str, headers: dict):
        self._owner = owner
        self._path = path
        self._headers = headers
        self._connection: http.client.HTTPConnection | None = None
        self._reused = False

    def send(self, reuse: bool) -> bool:
        """Send on an idle kept-alive connection if `reuse` and there is one, else on a new one."""
        self._connection, self._reused = self._owner._connection(reuse)  # connects on first use
        try:
            self._connection.request("GET", self._path, headers=self._headers)
            return True
        except Exception:
            self._connection.close()
            if self._reused:  # closed by the server since: once more on a new connection
                return self.send(reuse=False)
            self._owner._give_up()
            return False

    def result(self) -> dict | None:
        try:
            response = self._connection.getresponse()
            body = response.read()
        except Exception:
            self._connection.close()
            # A kept-alive connection the server closed meanwhile fails like this: once more on a
            # new one, as HTTP clients do.
            if self._reused and self.send(reuse=False):
                return self.result()
            self._owner._give_up()
            return None
        if response.will_close:
            self._connection.close()
        else:
            self._owner._release(self._connection)
        if response.status != 200:
            return None
        try:
            document = json.loads(body)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
