"""Which Auto Scaling groups a change rolls, and how long the roll may take.

`cdk diff` shows a launch template change as one modified resource ("Replaced 0"); what it
means for a group with a rolling update policy is that CloudFormation replaces every instance,
a batch at a time, waiting for each batch's signals. The AWS::AutoScaling::AutoScalingGroup
UpdatePolicy documentation says when that happens: the group's launch template or launch
configuration changes, or its VPCZoneIdentifier (subnets) does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html).
A new image or a new service asset reaches the launch template as a new ImageId or UserData (the
asset's S3 key is its content hash), so each shows up here as a launch template change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scripts.pr_diff.templates import Template, construct_path, referenced_ids, resources

_GROUP = "AWS::AutoScaling::AutoScalingGroup"
_LAUNCH_TYPES = frozenset({"AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration"})
_DURATION = re.compile(r"^PT(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?$")


@dataclass(frozen=True)
class Roll:
    """A group whose instances the deploy replaces, and why."""

    group: str
    causes: tuple[str, ...]
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
        return (
            f"**The fleet will roll:** `{self.group}` replaces its {self.instances} "
            f"instance(s) (the stage's desired or minimum capacity; more if it has scaled out), "
            f"{each}, {limit}, because {why}."
        )


def rolls(base: Template, head: Template) -> list[Roll]:
    """Every group of `head` that `base` already has and that this change rolls."""
    found = []
    before, after = resources(base), resources(head)
    for logical_id, group in after.items():
        if group.get("Type") != _GROUP or before.get(logical_id, {}).get("Type") != _GROUP:
            continue  # a new group launches its instances; nothing rolls
        causes = _causes(base, head, before[logical_id], group)
        if causes:
            found.append(_roll(construct_path(head, logical_id), group, causes))
    return found


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


def _roll(group: str, resource: dict[str, Any], causes: list[str]) -> Roll:
    properties = resource.get("Properties", {})
    policy = resource.get("UpdatePolicy", {})
    rolling = policy.get("AutoScalingRollingUpdate")
    replacing = bool(policy.get("AutoScalingReplacingUpdate", {}).get("WillReplace"))
    instances = str(properties.get("DesiredCapacity") or properties.get("MinSize", "?"))
    if not isinstance(rolling, dict):
        return Roll(group, tuple(causes), instances, 0, "", False, replacing)
    signals = bool(rolling.get("WaitOnResourceSignals"))
    return Roll(
        group=group,
        causes=tuple(causes),
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
