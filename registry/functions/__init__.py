"""Functions: the function service (functions, versions, aliases), names and qualifiers,
settings, and attaching layers to a function."""
