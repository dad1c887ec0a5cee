"""spito-admin, run end to end against the local stack."""
