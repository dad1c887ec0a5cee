"""The short form of the fault-injection harness (scripts/faults), run by `make test`."""
