"""Suite-wide configuration. Service fixtures (PostgreSQL, S3 server, Strata server) live in tests/support."""
