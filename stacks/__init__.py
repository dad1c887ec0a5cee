"""One stack per deployment unit, each composing constructs from `infra/`."""
