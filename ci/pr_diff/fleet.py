"""Which Auto Scaling groups a change rolls, and how long the roll may take.

`cdk diff` shows a launch template change as one modified resource ("Replaced 0"); what it
means for a group with a rolling update policy is that CloudFormation replaces every instance,
a batch at a time, waiting for each batch's signals. The AWS::AutoScaling::AutoScalingGroup
UpdatePolicy documentation says when that happens: the group's launch template or launch
configuration changes, or its VPCZoneIdentifier (subnets) does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html).
A new image or a new service asset reaches the launch template as a new ImageId or UserData (the
asset's S3 key is its content hash), so each shows up here as a launch template change.

An image read from an SSM parameter (`MachineImage.latest_amazon_linux2023()`) is the exception:
CloudFormation resolves such a parameter again at every update of the stack ("Specify existing
resources at runtime with CloudFormation-supplied parameter types",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html),
so any change to that stack rolls the fleet if a newer image was published meanwhile; no
template shows it, so the report says the fleet may roll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ci.pr_diff.templates import Template, construct_path, referenced_ids, resources

_GROUP = "AWS::AutoScaling::AutoScalingGroup"
_LAUNCH_TYPES = frozenset({"AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration"})
_DURATION = re.compile(r"^PT(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?$")


@dataclass(frozen=True)
class Roll:
    """A group whose instances the deploy replaces, and why."""

    group: str
    causes: tuple[str, ...]
    certain: bool  # False: only if the image parameter resolves to a newer image
    instances: str  # the desired capacity, or the minimum when unset
    batch_size: int
    wait: str  # "15 minutes"; "" when the group has no rolling update policy
    waits_for_signals: bool
    replacing_update: bool

    @property
    def summary(self) -> str:
        """One sentence for the report."""
        why = "; ".join(self.causes)
        if self.replacing_update:
            return (
                f"`{self.group}` will be replaced by a new group of {self.instances} "
                f"instance(s) (AutoScalingReplacingUpdate), because {why}."
            )
        if not self.wait:
            return (
                f"`{self.group}` has no rolling update policy: its running instances keep the "
                f"old launch settings until something replaces them ({why})."
            )
        each = "one at a time" if self.batch_size == 1 else f"{self.batch_size} at a time"
        limit = (
            f"up to {self.wait} each (the signal timeout)"
            if self.waits_for_signals
            else f"{self.wait} apart (the pause time)"
        )
        verdict = "will roll" if self.certain else "may roll"
        return (
            f"**The fleet {verdict}:** `{self.group}` replaces its {self.instances} "
            f"instance(s) (the stage's desired or minimum capacity; more if it has scaled out), "
            f"{each}, {limit}, because {why}."
        )


def rolls(base: Template, head: Template, *, stack_changed: bool) -> list[Roll]:
    """Every group of `head` that `base` already has and that this change rolls, or may roll.

    `stack_changed`: the stack is deployed at all (the CDK CLI skips an unchanged one).
    """
    found = []
    before, after = resources(base), resources(head)
    for logical_id, group in after.items():
        if group.get("Type") != _GROUP or before.get(logical_id, {}).get("Type") != _GROUP:
            continue  # a new group launches its instances; nothing rolls
        path = construct_path(head, logical_id)
        causes = _causes(base, head, before[logical_id], group)
        if causes:
            found.append(_roll(path, group, causes, certain=True))
            continue
        parameters = _image_parameters(head, group.get("Properties", {}))
        if stack_changed and parameters:
            names = ", ".join(f"`{name}`" for name in parameters)
            cause = (
                f"its image is the SSM parameter {names}, which CloudFormation resolves again "
                "at every update of this stack: the fleet rolls if a newer image was published"
            )
            found.append(_roll(path, group, [cause], certain=False))
    return found


def _image_parameters(template: Template, properties: dict[str, Any]) -> list[str]:
    """The SSM parameter names (e.g. /aws/service/ami-...) the group's launch image is read from."""
    parameters: dict[str, Any] = template.get("Parameters", {})
    names = []
    for launch_id in sorted(_launch_resources(template, properties)):
        launch = resources(template)[launch_id].get("Properties", {})
        image = launch.get("LaunchTemplateData", launch).get("ImageId")
        for reference in sorted(referenced_ids(image)):
            parameter = parameters.get(reference, {})
            if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value<"):
                names.append(str(parameter.get("Default", reference)))
    return names


def _causes(base: Template, head: Template, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    causes = []
    old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
    for key in ("LaunchTemplate", "LaunchConfigurationName", "MixedInstancesPolicy"):
        if old_props.get(key) != new_props.get(key):
            causes.append(f"its {key} changed")
    if old_props.get("VPCZoneIdentifier") != new_props.get("VPCZoneIdentifier"):
        causes.append("its subnets (VPCZoneIdentifier) changed")
    for launch_id in sorted(_launch_resources(head, new_props)):
        changed = _changed_settings(base, head, launch_id)
        if changed:
            path = construct_path(head, launch_id)
            causes.append(f"`{path}` changed ({', '.join(changed)})")
    return causes


def _launch_resources(template: Template, properties: dict[str, Any]) -> set[str]:
    """The launch templates and configurations the group's properties reference."""
    return {
        logical_id
        for logical_id in referenced_ids(properties)
        if resources(template).get(logical_id, {}).get("Type") in _LAUNCH_TYPES
    }


def _changed_settings(base: Template, head: Template, logical_id: str) -> list[str]:
    """The launch settings that differ, e.g. InstanceType, UserData, ImageId."""
    old = resources(base).get(logical_id, {}).get("Properties", {})
    new = resources(head).get(logical_id, {}).get("Properties", {})
    if old == new:
        return []
    old_data, new_data = old.get("LaunchTemplateData", old), new.get("LaunchTemplateData", new)
    keys = sorted(set(old_data) | set(new_data))
    changed = [key for key in keys if old_data.get(key) != new_data.get(key)]
    return changed or sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def _roll(group: str, resource: dict[str, Any], causes: list[str], *, certain: bool) -> Roll:
    properties = resource.get("Properties", {})
    policy = resource.get("UpdatePolicy", {})
    rolling = policy.get("AutoScalingRollingUpdate")
    replacing = bool(policy.get("AutoScalingReplacingUpdate", {}).get("WillReplace"))
    instances = str(properties.get("DesiredCapacity") or properties.get("MinSize", "?"))
    if not isinstance(rolling, dict):
        return Roll(group, tuple(causes), certain, instances, 0, "", False, replacing)
    signals = bool(rolling.get("WaitOnResourceSignals"))
    return Roll(
        group=group,
        causes=tuple(causes),
        certain=certain,
        instances=instances,
        batch_size=int(rolling.get("MaxBatchSize", 1)),
        # The UpdatePolicy documentation's defaults: MaxBatchSize 1; PauseTime PT0S, or PT5M when
        # WaitOnResourceSignals is true.
        wait=_minutes(str(rolling.get("PauseTime", "PT5M" if signals else "PT0S"))),
        waits_for_signals=signals,
        replacing_update=replacing,
    )


def _minutes(duration: str) -> str:
    """An ISO 8601 PauseTime (PT15M, PT1H, PT90S) in words."""
    match = _DURATION.match(duration)
    if not match:
        return duration
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
