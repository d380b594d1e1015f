"""Installing a package runs code fetched from a registry: production asks, dev stays free.

``pip install``, ``npm install``, ``apt-get install`` and ``pacman -Syu`` were a reversible
update of the host, which the built-in orders let through everywhere. Each runs what the
registry serves (setup.py and build backends, npm lifecycle scripts, dpkg maintainer scripts
as root, pacman install hooks), so each is also an ``execute`` of a ``process``, ``dynamic``:
production asks, a developer's machine does not.
"""

from __future__ import annotations

import pytest

from watchkeeper.analyzers.shell import analyze
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

GATEWAY = Gateway(builtin())


def decide(command: str, env: str) -> tuple[str, tuple[str, ...]]:
    d = GATEWAY.decide({"tool": "shell", "environment": env, "input": {"command": command}})
    return d.decision, d.rules


def runs_code(command: str) -> bool:
    return any(e.verb == "execute" and "dynamic" in e.flags for e in analyze(command))


INSTALLS = [
    pytest.param("pip install requests", id="pip"),
    pytest.param("pip3 install -r requirements.txt", id="pip-requirements"),
    pytest.param("pip install -e .", id="pip-editable"),
    pytest.param("pip download sdist-only-pkg", id="pip-download-builds-sdists"),
    pytest.param("npm install", id="npm"),
    pytest.param("npm i left-pad", id="npm-i"),
    pytest.param("npm ci", id="npm-ci"),
    pytest.param("npm update", id="npm-update"),
    pytest.param("yarn", id="yarn-alone-installs"),
    pytest.param("yarn add react", id="yarn-add"),
    pytest.param("pnpm install", id="pnpm"),
    pytest.param("apt-get install -y nginx", id="apt-get-install"),
    pytest.param("apt-get upgrade", id="apt-get-upgrade"),
    pytest.param("apt full-upgrade -y", id="apt-full-upgrade"),
    pytest.param("yum install nginx", id="yum"),
    pytest.param("dnf upgrade", id="dnf-upgrade"),
    pytest.param("brew install jq", id="brew"),
    pytest.param("gem install rails", id="gem"),
    pytest.param("cargo install ripgrep", id="cargo-install-builds"),
    pytest.param("apk add curl", id="apk"),
    pytest.param("snap install code", id="snap"),
    pytest.param("pacman -S nginx", id="pacman-sync"),
    pytest.param("pacman -Syu", id="pacman-upgrade"),
    pytest.param("pacman -U ./pkg.tar.zst", id="pacman-local-package"),
]


@pytest.mark.parametrize("command", INSTALLS)
def test_an_install_runs_code_from_a_registry(command: str) -> None:
    assert runs_code(command), analyze(command)


@pytest.mark.parametrize("command", INSTALLS)
def test_an_install_asks_in_production(command: str) -> None:
    decision, rules = decide(command, "prod")
    assert decision == "ask", rules
    assert "prod-unknown-asks" in rules


@pytest.mark.parametrize("command", INSTALLS)
def test_an_install_is_free_on_a_developers_machine(command: str) -> None:
    assert decide(command, "dev")[0] == "allow"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("npm install --ignore-scripts", id="npm-without-scripts"),
        pytest.param("yarn install --ignore-scripts", id="yarn-without-scripts"),
        pytest.param("apt-get update", id="apt-update-refreshes-lists"),
        pytest.param("apk update", id="apk-update"),
        pytest.param("yum makecache", id="yum-makecache"),
        pytest.param("brew update", id="brew-update"),
        pytest.param("cargo update", id="cargo-update-lockfile"),
        pytest.param("cargo fetch", id="cargo-fetch"),
        pytest.param("pip install --dry-run requests", id="pip-dry-run"),
        pytest.param("apt-get -s install nginx", id="apt-simulate"),
        pytest.param("npm ls", id="npm-list"),
        pytest.param("pacman -Ss nginx", id="pacman-search"),
    ],
)
def test_what_fetches_no_code_to_run_does_not(command: str) -> None:
    assert not runs_code(command), analyze(command)
