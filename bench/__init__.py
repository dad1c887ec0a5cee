"""`make bench`: each benchmark a ratio against a baseline measured in the same run.

- `service`: the service's hot path and creates/s (docs/BENCHMARKS.md's service section).
- `bare_app`: the do-nothing ASGI app `service` measures as the Python server's ceiling.
- `synth`: the CDK app's synth time against an empty app's (docs/BENCHMARKS.md's synth section).
"""
