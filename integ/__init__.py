"""`make integ`: the acceptance test that deploys a throwaway copy of a stage to a real AWS account.

`run.py` drives it (credentials, synth, deploy with assertions, destroy); `integ_spito.py` is the
integ-tests-alpha app it deploys. Nothing here runs without AWS credentials except its offline
tests (tests/infra/test_integ.py).
"""
