"""Suite-wide configuration. Fixtures shared across packages (PostgreSQL, S3 server, Strata server,
the registry's services on a migrated database) live in tests/support."""

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.server_fixtures",
    "tests.support.service_fixtures",
]
