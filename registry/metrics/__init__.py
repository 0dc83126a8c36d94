"""Prometheus metrics served at GET /metrics: the HTTP face, invocations, execution environments,
the merge cache, publishes, and cluster-wide facts read from the database at scrape time.

The gunicorn workers of one server share their figures through prometheus_client's multiprocess
mode (multiprocess.py); nothing here imports prometheus_client until a worker builds its app.
"""
