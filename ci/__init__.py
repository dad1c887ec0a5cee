"""The tools CI and the deploy targets run around the CDK app.

- `pr_diff`: `make diff`, the pull request's infrastructure report (.github/workflows/pr.yml).
- `pr_comment`: posts that report as the pull request's one comment (the PR workflow).
- `synth_summary`: `make synth`'s table of stacks and resource counts.
- `deploy_guard`: the checks `make deploy` and `make destroy` run before touching AWS.
"""
