"""spito-admin: the operator's command line for abuse handling (see spito_admin/cli.py)."""
