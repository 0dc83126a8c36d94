"""gunicorn's logger, with every line in the server's log format (registry/log_format.py).

`strata serve` uses it, and so can a plain `gunicorn app:app --logger-class
registry.front.log.StrataLogger` (as docker-compose runs the nodes): the format is then
STRATA_LOG_FORMAT's. gunicorn's access log stays off; the request log takes its place.
"""

from __future__ import annotations

import logging.config

from gunicorn.glogging import Logger

from registry.config import Settings
from registry.log_format import logging_config


class StrataLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        logging.config.dictConfig(logging_config(Settings.from_env().log_format))
