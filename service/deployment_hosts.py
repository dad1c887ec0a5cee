"""Spito's own host names that exist only once it is deployed, kept fresh in the background.

On AWS the distribution's `dxxxx.cloudfront.net` name is created after the fleet (the Edge stack
depends on the Api stack), so it cannot be in the fleet's environment; the Edge stack writes it,
with the custom domain's names, to an SSM parameter (infra/public_hosts.py) named by
SPITO_PUBLIC_HOSTS_PARAMETER. `DeploymentHosts.run` reads it at start and every
SPITO_PUBLIC_HOSTS_REFRESH_SECONDS in a thread, so a request never waits on SSM: link creation
only reads `current`, the last set read. A parameter that does not exist yet (the first deploy,
before the Edge stack) means no names yet; a failed read keeps the last set and is logged, and
the next refresh tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from service.aws import error_code
from service.settings import host_set

log = logging.getLogger("spito.deployment_hosts")

# Reads the names: a set, or None when there are none to read yet.
HostsReader = Callable[[], frozenset[str] | None]


class ParameterClient(Protocol):
    """The one call of boto3's SSM client used here."""

    def get_parameter(self, *, Name: str) -> Mapping[str, Any]: ...  # noqa: N803 - boto3's name


def ssm_parameter_reader(client: ParameterClient, name: str) -> HostsReader:
    """A reader of the comma-separated names in the SSM String parameter `name`."""

    def read() -> frozenset[str] | None:
        try:
            value = client.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as error:
            if error_code(error) == "ParameterNotFound":
                return None
            raise
        return host_set(str(value))

    return read


class DeploymentHosts:
    """The last names `reader` returned (`current`, empty until a read succeeds)."""

    def __init__(self, reader: HostsReader) -> None:
        self._reader = reader
        self.current: frozenset[str] = frozenset()

    def refresh(self) -> None:
        """Read once; on any failure keep `current` and log why."""
        try:
            hosts = self._reader()
        except (BotoCoreError, ClientError, ValueError, KeyError) as error:
            log.warning("could not read Spito's own host names (keeping the last ones): %s", error)
            return
        if hosts is None:
            log.info("Spito's own host names are not published yet; will look again")
            return
        if hosts != self.current:
            log.info("Spito's own host names: %s", ", ".join(sorted(hosts)))
        self.current = hosts

    async def run(self, every_seconds: float) -> None:
        """Refresh now, then every `every_seconds`, in a thread, until cancelled."""
        while True:
            await asyncio.to_thread(self.refresh)
            await asyncio.sleep(every_seconds)
