"""The server's two log formats: one JSON object per line, or text with key=value fields that no
value can break out of."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from registry.log_format import formatter, logging_config


def record(message: str = "request", fields: dict | None = None, exc_info=None):
    made = logging.LogRecord("strata.requests", logging.INFO, __file__, 1, message, (), exc_info)
    if fields is not None:
        made.fields = fields
    return made


def test_json__one_line_with_the_message_and_the_fields_beside_it():
    line = formatter("json").format(record(fields={"status": 200, "account": None}))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["logger"] == "strata.requests" and entry["message"] == "request"
    assert (entry["status"], entry["account"]) == (200, None)
    assert entry["time"].endswith("Z") and entry["level"] == "INFO"


def test_json__a_traceback_stays_inside_its_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        line = formatter("json").format(record("failed", exc_info=sys.exc_info()))
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exception"]


def test_text__fields_as_key_value_and_odd_values_quoted():
    line = formatter("text").format(
        record(fields={"path": '/x\n2026 INFO forged "q"', "account": None, "status": 404})
    )
    assert "\n" not in line
    assert line.endswith('path="/x\\n2026 INFO forged \\"q\\"" account=- status=404')
    assert " INFO strata.requests: request " in line


def test_formats__only_text_and_json():
    with pytest.raises(ValueError, match="text, json"):
        logging_config("xml")


def test_config__quiets_gunicorns_access_log_and_keeps_the_registrys_info_lines():
    config = logging_config("json")
    assert config["loggers"]["gunicorn.access"]["level"] == "CRITICAL"
    assert config["loggers"]["registry"]["level"] == "INFO"
    assert config["loggers"]["strata"]["level"] == "INFO"
    assert config["root"]["level"] == "WARNING"
