"""`make diff`: the infrastructure change between a git ref and the working tree, as Markdown.

Synthesizes both sides offline, runs `cdk diff` per stack against the base templates and the
policy checks (cdk-nag, cfn-lint, checkov) on the head; the pull-request workflow posts the
same Markdown as its comment. Run `python -m ci.pr_diff --help`.
"""
