"""ensure-apt.sh, the shipped script the Makefile runs, on fake systems: a PATH of stand-ins for
apt-get, apt-cache, sudo and id that log what they are asked, and an os-release under --root.

The stand-ins behave as the real tools do where the script relies on it: apt-cache knows no
package until apt-get update has fetched the lists (a fresh container has none), apt-get install
refuses to run unless root, and sudo runs its command as root in a reset environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The script as the Makefile's `browser` target calls it, wherever it lives.
_BROWSER_RECIPE = re.search(
    r"^browser:.*\n\t(\S+ensure-apt\.sh) ", (PROJECT_ROOT / "Makefile").read_text(), re.M
)
assert _BROWSER_RECIPE, "the Makefile's browser target no longer runs ensure-apt.sh"
ENSURE_APT = PROJECT_ROOT / _BROWSER_RECIPE.group(1)
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = 'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nID=ubuntu\nID_LIKE=debian\n'
FEDORA = 'PRETTY_NAME="Fedora Linux 42 (Workstation Edition)"\nID=fedora\n'

FAKE_ID = '#!/bin/sh\necho "${{FAKE_UID:-0}}"\n'
FAKE_SUDO = """#!/bin/sh
echo "sudo $*" >> {log}
exec /usr/bin/env -i PATH="$PATH" FAKE_UID=0 "$@"
"""
FAKE_APT_GET = """#!/bin/bash
echo "uid=$(id -u) apt-get $* DEBIAN_FRONTEND=${{DEBIAN_FRONTEND-unset}}" >> {log}
case "$1" in
  update) : > {lists} ;;
  install)
    [ "$(id -u)" -eq 0 ] || {{ echo "E: Could not open lock file - are you root?" >&2; exit 100; }}
    for pkg in "$@"; do
      [ -f {provides}/"$pkg" ] || continue
      tool="{root}$(< {provides}/"$pkg")"
      /bin/mkdir -p "${{tool%/*}}" && printf '#!/bin/sh\\n' > "$tool" && /bin/chmod +x "$tool"
    done ;;
esac
"""
FAKE_APT_CACHE = """#!/bin/bash
[ "$1" = policy ] || exit 100
[ -f {lists} ] && [ -f {provides}/"$2" ] || exit 0
printf '%s:\\n  Installed: (none)\\n  Candidate: 1.0-1\\n' "$2"
"""


@dataclass
class FakeSystem:
    """A root with an os-release, a bin directory of stand-ins, and the log they write."""

    root: Path
    bin: Path
    log: Path

    def run(self, *packages: str, uid: int = 0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ENSURE_APT), "--root", str(self.root), *packages],
            env={"PATH": str(self.bin), "FAKE_UID": str(uid), "HOME": str(self.root)},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def tool(self, path: str) -> Path:
        return self.root / path.lstrip("/")


def _fake_system(
    tmp_path: Path,
    *,
    os_release: str,
    available: dict[str, str],
    apt: bool = True,
    sudo: bool = False,
) -> FakeSystem:
    root, bin_dir, provides = tmp_path / "root", tmp_path / "bin", tmp_path / "provides"
    for directory in (root / "etc", bin_dir, provides):
        directory.mkdir(parents=True)
    (root / "etc" / "os-release").write_text(os_release)
    for package, path in available.items():
        (provides / package).write_text(path)
    log, lists = tmp_path / "calls.log", tmp_path / "lists-fetched"
    # The script's own needs from the system besides the stand-ins: bash for its shebang, env.
    for tool in ("bash", "env"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    fakes = {"id": FAKE_ID}
    if apt:
        fakes["apt-get"] = FAKE_APT_GET
        fakes["apt-cache"] = FAKE_APT_CACHE
    if sudo:
        fakes["sudo"] = FAKE_SUDO
    for name, text in fakes.items():
        fake = bin_dir / name
        fake.write_text(text.format(log=log, lists=lists, provides=provides, root=root))
        fake.chmod(0o755)
    return FakeSystem(root=root, bin=bin_dir, log=log)


@pytest.mark.parametrize(
    ("package", "path"),
    [
        ("chromium", "/usr/bin/chromium"),
        ("libatomic1", "/usr/lib/aarch64-linux-gnu/libatomic.so.1"),  # any architecture's
    ],
)
def test_what_is_already_at_its_path_is_used_without_apt(
    tmp_path: Path, package: str, path: str
) -> None:
    system = _fake_system(tmp_path, os_release=FEDORA, available={}, apt=False)
    tool = system.tool(path)
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)

    completed = system.run(package, uid=1000)

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert system.calls() == []


def test_fresh_debian_container_as_root_updates_the_lists_then_installs_without_sudo(
    tmp_path: Path,
) -> None:
    system = _fake_system(
        tmp_path,
        os_release=DEBIAN,
        available={"shellcheck": "/usr/bin/shellcheck", "haproxy": "/usr/sbin/haproxy"},
    )

    completed = system.run("shellcheck", "haproxy", uid=0)

    assert completed.returncode == 0, completed.stderr
    assert system.calls() == [
        "uid=0 apt-get update -qq DEBIAN_FRONTEND=unset",
        "uid=0 apt-get install -y -qq --no-install-recommends shellcheck haproxy"
        " DEBIAN_FRONTEND=noninteractive",
    ]
    assert os.access(system.tool("/usr/bin/shellcheck"), os.X_OK)
    assert os.access(system.tool("/usr/sbin/haproxy"), os.X_OK)


def test_a_user_installs_through_sudo_and_apt_stays_noninteractive(tmp_path: Path) -> None:
    system = _fake_system(
        tmp_path, os_release=DEBIAN, available={"chromium": "/usr/bin/chromium"}, sudo=True
    )

    completed = system.run("chromium", uid=1000)

    assert completed.returncode == 0, completed.stderr
    assert system.calls() == [
        "sudo apt-get update -qq",
        "uid=0 apt-get update -qq DEBIAN_FRONTEND=unset",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq"
        " --no-install-recommends chromium",
        "uid=0 apt-get install -y -qq --no-install-recommends chromium"
        " DEBIAN_FRONTEND=noninteractive",
    ]


def test_a_distribution_without_the_package_gets_one_line_naming_it_and_no_install(
    tmp_path: Path,
) -> None:
    # Ubuntu ships Chromium as a snap: apt has no chromium package there.
    system = _fake_system(
        tmp_path, os_release=UBUNTU, available={"shellcheck": "/usr/bin/shellcheck"}
    )

    completed = system.run("shellcheck", "chromium", uid=0)

    assert completed.returncode == 1
    assert completed.stderr == (
        "ensure-apt: Ubuntu 24.04.3 LTS has no package chromium: install it with this system's"
        " package manager so that /usr/bin/chromium exists, or run in Debian as CI does"
        " (docs/CI.md)\n"
    )
    assert not any(" install " in call for call in system.calls())


def test_a_system_without_apt_gets_one_line_per_package_naming_it(tmp_path: Path) -> None:
    system = _fake_system(tmp_path, os_release=FEDORA, available={}, apt=False)

    completed = system.run("haproxy", uid=0)

    assert completed.returncode == 1
    assert completed.stderr == (
        "ensure-apt: Fedora Linux 42 (Workstation Edition) has no apt-get to install haproxy:"
        " install it with this system's package manager so that /usr/sbin/haproxy exists,"
        " or run in Debian as CI does (docs/CI.md)\n"
    )


def test_a_user_without_sudo_is_told_to_run_it_as_root(tmp_path: Path) -> None:
    system = _fake_system(tmp_path, os_release=DEBIAN, available={"wrk": "/usr/bin/wrk"})

    completed = system.run("wrk", uid=1000)

    assert completed.returncode == 1
    assert completed.stderr == (
        "ensure-apt: installing wrk needs root, and there is no sudo: run this as root\n"
    )
    assert system.calls() == []


@pytest.mark.parametrize("package", ["chromium-browser", "/usr/bin/chromium"])
def test_a_package_whose_tool_path_is_unknown_is_refused_with_the_fix(
    tmp_path: Path, package: str
) -> None:
    system = _fake_system(tmp_path, os_release=DEBIAN, available={})

    completed = system.run(package)

    assert completed.returncode == 2
    fix = f"no tool path is known for package {package}: add it to tool_path"
    assert fix in completed.stderr
    assert system.calls() == []
