"""The fault-injection harness: a local fleet behind HAProxy, broken on purpose.

`make faults` runs it (`python -m faults`); the short form runs in `make test`
(tests/faults/). docs/RELIABILITY.md says what each scenario proves.
"""
