"""WSGI entry point: `gunicorn app:app`. Configuration comes from the STRATA_* environment."""

from registry.api import create_app

app = create_app()
