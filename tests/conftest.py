"""Suite-wide configuration. Service fixtures (PostgreSQL, S3 server, Strata server) live in tests/support."""

pytest_plugins = ["tests.support.fixtures", "tests.support.server_fixtures"]
