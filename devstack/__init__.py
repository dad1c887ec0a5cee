"""`make dev`'s local stand-in for AWS: Spito on this machine with no AWS account.

- `supervisor`: what `make dev` runs (`python -m devstack.supervisor`), the stack until Ctrl-C.
- `stack`: dynalite (DynamoDB), s3rver (S3), the service and the edge router, each startable and
  stoppable on its own; also used by the tests (tests/fixtures/local_stack.py), the fault harness
  (faults/) and the benchmarks (bench/).
- `edge_router`: CloudFront's stand-in (nginx), routing paths from the same table the
  distribution is generated from.
- `lifeline`: every part (and the fault harness's and benchmarks' servers) stops when the
  process that started it dies, however it dies.
- `datadir`: one stack per data directory, and cleanup after one that died.
- `errors`: what a user can cause, reported in one message instead of a traceback.
"""
