"""The pip-style layer client.

It speaks only the AWS Lambda API (through botocore) plus plain HTTP for `Content.Location`
downloads, so it works against Strata and real AWS Lambda alike. It must never import server
modules; `tests/client/test_imports.py` holds that line.
"""
