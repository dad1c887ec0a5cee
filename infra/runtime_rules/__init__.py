"""AWS runtime rules: what a real account enforces at deploy, update and delete time that synth,
cfn-lint, checkov and cdk-nag never see, checked on every synth of the templates.

One line in any CDK app:

    Validations.of(app).add_plugins(AwsRuntimeRules())

Each rule cites the AWS documentation it comes from (`rules.RULES`); a finding names the
resource, what AWS will do with it, and the fix. Acknowledge one finding on the narrowest
construct with `acknowledge_rule(construct, rule_id, reason)`. docs/AWS-RUNTIME-RULES.md lists
every rule Spito depends on, with the rule or test that holds it.
"""

from .plugin import PLUGIN_NAME, AwsRuntimeRules, acknowledge_rule
from .rules import RULES, Rule

__all__ = ["PLUGIN_NAME", "RULES", "AwsRuntimeRules", "Rule", "acknowledge_rule"]
