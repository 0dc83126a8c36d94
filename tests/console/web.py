"""A console visitor over plain HTTP (requests): its cookie jar, the CSRF token of the last page
it read, and signing in."""

from __future__ import annotations

import re

import requests
from requests.adapters import HTTPAdapter

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]*)"')


class Visitor:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.token = ""

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(self.base_url + path, allow_redirects=False, timeout=30, **kwargs)
        found = _TOKEN.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict, *, token: str | None = None, **kwargs):
        form = {"csrf_token": self.token if token is None else token, **data}
        if token == "":
            del form["csrf_token"]
        return self.http.post(
            self.base_url + path, data=form, allow_redirects=False, timeout=60, **kwargs
        )

    def sign_in(self, key_id: str, secret: str, next_path: str = "") -> requests.Response:
        self.get("/console/sign-in")
        data = {"access_key_id": key_id, "secret_access_key": secret}
        if next_path:
            data["next"] = next_path
        return self.post("/console/sign-in", data)


class _FromAddress(HTTPAdapter):
    """Connections from one loopback address: on loopback every client is otherwise 127.0.0.1."""

    def __init__(self, address: str):
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self._address, 0), **kwargs)


def visitor_from(base_url: str, address: str) -> Visitor:
    """A visitor whose connections come from `address` (any of 127.0.0.0/8)."""
    visitor = Visitor(base_url)
    visitor.http.trust_env = False  # loopback only: no proxy from the environment
    visitor.http.mount("http://", _FromAddress(address))
    return visitor
