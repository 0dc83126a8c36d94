"""Invocations: invoking a function version, the bundles it runs from, durable Event
invocations and provisioned concurrency."""
