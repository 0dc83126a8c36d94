"""Attacks replayed end to end through the public interface (fixtures come from tests/support)."""
