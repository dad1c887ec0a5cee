"""Spito's constructs, one per logical unit; import them into any CDK app (`from infra.network import Network`)."""
