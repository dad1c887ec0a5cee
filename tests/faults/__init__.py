"""The short form of the fault-injection harness (faults), run by `make test`."""
