"""Spito's constructs, one per logical unit, importable into any CDK app.

For example `from infra.network import Network`.
"""
