"""Strata: a self-hosted registry for AWS-Lambda-style layers and function artifacts."""

__version__ = "0.1.0"
