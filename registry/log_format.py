"""The server's log lines, in one of two formats: `json` (one object per line, for a collector:
the default in docker-compose) or `text` (for a person at a terminal: the default).

Every record of the server goes through the same formatter, gunicorn's own among them, so a
JSON log is machine-readable from its first line to its last. A record may carry `fields` (a dict
passed as `extra={"fields": ...}`): JSON puts them beside the message, text appends them as
key=value pairs.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

FORMATS = ("text", "json")
DEFAULT_FORMAT = "text"
# Loggers whose INFO lines are worth a production log: the registry's own and the server's.
_INFO_LOGGERS = ("registry", "storage", "strata", "gunicorn.error")
# A text value that is one plain token is written as is; anything else (spaces, quotes, control
# characters a client could put in a path) is quoted, so that no value can forge a line or a field.
_PLAIN = re.compile(r"[\w./:@+$\-,=]*")


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{_timestamp(record.created)} [{record.process}] {record.levelname} "
            f"{record.name}: {record.getMessage()}"
        )
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _text_value(value) -> str:
    if value is None:
        return "-"
    text = str(value)
    return text if _PLAIN.fullmatch(text) and text else json.dumps(text)


def formatter(kind: str = DEFAULT_FORMAT) -> logging.Formatter:
    if kind not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {kind!r}")
    return JsonFormatter() if kind == "json" else TextFormatter()


def logging_config(kind: str = DEFAULT_FORMAT) -> dict:
    """A logging.config.dictConfig for the server (gunicorn's `logconfig_dict`): every record to
    stderr in `kind`, warnings from everyone, INFO from the registry and the server."""
    formatter(kind)  # refuses an unknown kind before anything is configured
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"strata": {"()": f"{__name__}.formatter", "kind": kind}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "strata",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            **{
                name: {"level": "INFO", "handlers": [], "propagate": True} for name in _INFO_LOGGERS
            },
            # The request log (registry/api/request_log.py) is the access log: gunicorn's would
            # say the same thing again, with less.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
