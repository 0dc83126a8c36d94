"""The console's blueprint, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint

PREFIX = "/console"

bp = Blueprint(
    "console",
    __name__,
    url_prefix=PREFIX,
    template_folder="templates",
    static_folder="static",
)
