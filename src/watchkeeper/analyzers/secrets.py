"""Commands that print secrets: a credential read, whatever file they do or do not name.

The environment holds tokens (``env``, ``printenv``, ``set``, ``declare -p``, ``export -p``,
``ps eww``, ``/proc/*/environ`` — the last by its path), a container's inspect output holds its
environment, a Compose file is printed with its variables filled in, a Helm release's values
hold passwords, and a secret store prints what it stores. :func:`prints_secrets` says why a
command prints secrets, or ``None``::

    prints_secrets(run)   # "prints the environment", for `env` alone
"""

from __future__ import annotations

import itertools
import re

from watchkeeper.analyzers.invocation import Invocation, effect
from watchkeeper.analyzers.vocabulary import VALUE_VERB, words_of
from watchkeeper.models import Effect

#: Builtins that print variables, values and all, when given no name to set (``declare -p``
#: with names prints those).
_PRINT_VARIABLES = frozenset({"declare", "typeset", "export", "readonly", "local"})
#: Programs whose every entry is a secret: reading one prints it (``vault read``, ``op read``,
#: ``pass show``); listing, status and writes are judged by their words as any tool's are.
SECRET_STORES = frozenset(
    """
    vault op pass gopass bw lpass keyring secret-tool chamber doppler infisical berglas akeyless
    conjur teller keyctl
    """.split()
)
#: Options that make a tool print the secret it would otherwise hide.
_REVEALS = frozenset(
    """
    --show-token --show-secrets --show-secret --reveal --with-decryption --decrypt
    --show-sensitive --unmask --plaintext
    """.split()
)
#: Subcommands (as word pairs) that print a token: ``gh auth token``, ``glab auth token``.
_TOKEN_PRINTS = frozenset({("auth", "token"), ("auth", "print-access-token")})
_BSD_ENVIRONMENT = re.compile(r"^[a-zA-Z]*e[a-zA-Z]*$")
#: Variables named for a secret: `$GITHUB_TOKEN`, `$AWS_SECRET_ACCESS_KEY`, `$DB_PASSWORD`,
#: `$PGPASSWORD` (not a file or a place that holds one: `$TOKEN_FILE`, `$SECRETS_DIR`).
_SECRET_VARIABLE = re.compile(
    r"TOKEN|SECRET|PASSW|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|_PWD$|^PWD_|_PAT$",
    re.IGNORECASE,
)
_NOT_SECRET_VARIABLE = re.compile(r"_(FILE|PATH|DIR|URL|ENDPOINT|NAME|ID|TYPE)S?$", re.IGNORECASE)
#: Where a reader's own language reads the environment: jq's `$ENV` and `env`, yq's `env()`
#: and `strenv()`, awk's `ENVIRON`; a name read is group 1 or 2 (none: all of it).
_PROGRAM_ENVIRONMENT: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(
        ("jq", "gojq", "jaq"),
        re.compile(r"(?:\$ENV|(?<![.\w$])env)\b\s*(?:\.(\w+)|\[\s*\"(\w+)\"\s*\])?"),
    ),
    "yq": re.compile(r"(?:\$ENV\b|\b(?:str)?env\(\s*)\s*(?:\.(\w+)|(\w+)\s*\))?"),
    **dict.fromkeys(
        ("awk", "gawk", "mawk", "nawk"),
        re.compile(r"\bENVIRON\b\s*(?:\[\s*\"(\w+)\"\s*\])?"),
    ),
}


def secret_variable(name: str) -> bool:
    """Whether a variable's name says it holds a secret."""
    return bool(_SECRET_VARIABLE.search(name)) and not _NOT_SECRET_VARIABLE.search(name)


def _program_reads_secrets(run: Invocation) -> bool:
    """``jq -n '$ENV'``, ``awk 'BEGIN{print ENVIRON["AWS_SECRET_ACCESS_KEY"]}'``: the whole
    environment, or a variable named for a secret."""
    pattern = _PROGRAM_ENVIRONMENT.get(run.base)
    if pattern is None:
        return False
    for word in run.known():
        for found in pattern.finditer(word):
            name = next((g for g in found.groups() if g), None)
            if name is None or secret_variable(name):
                return True
    return False


def prints_secrets(run: Invocation) -> str | None:
    """Why ``run`` prints secrets, or None."""
    base, known = run.base, run.known()
    operands = [a for a in known if not a.startswith(("-", "+"))]
    if base == "printenv":
        return "prints the environment"
    if _program_reads_secrets(run):
        return "its program prints the environment or a secret in it"
    if base == "set" and not run.args:
        return "prints every variable"
    if base in _PRINT_VARIABLES and (
        "-p" in known
        or any(a.startswith("-") and not a.startswith("--") and "p" in a for a in known)
        or (not operands and not {"-F", "-f"} & set(known))
    ):
        return "prints variables and their values"
    if base == "ps" and any(_BSD_ENVIRONMENT.match(a) for a in known if not a.startswith("-")):
        return "prints each process's environment"  # BSD `e`: ps eww, ps auxe
    if base == "systemctl" and "show-environment" in operands:
        return "prints the service manager's environment"
    if base in ("docker", "podman") and _inspects_environment(run, operands):
        return "prints a container's environment and configuration"
    if any(a.split("=", 1)[0] in _REVEALS for a in known):
        return "asked to show the secret"
    words = words_of(known, 5) if "auth" in known or base in SECRET_STORES else []
    if any(pair in _TOKEN_PRINTS for pair in itertools.pairwise(words)):
        return "prints an access token"
    if base == "op":  # 1Password conceals a field in its item listing unless asked to
        printed = operands[:1] in (["read"], ["inject"]) or operands[:2] == ["document", "get"]
        asked = any(a.split("=", 1)[0] in ("--otp", "--fields", "--format") for a in known)
        return "prints what 1Password stores" if printed or asked else None
    if base in SECRET_STORES and (
        any(VALUE_VERB.search(w) for w in words)
        or (base == "keyctl" and operands[:1] == ["pipe"])
        or (base in ("pass", "gopass") and operands and operands[0] not in _PASS_COMMANDS)
    ):
        return f"prints what {base} stores"
    if base == "secret-tool" and operands[:1] in (["search"], ["lookup"]):  # prints the secret
        return "prints what secret-tool stores"
    if base == "sops" and any(a in ("-d", "--decrypt") for a in known):
        return "prints the decrypted file"
    return None


#: pass and gopass subcommands; any other first word is an entry, which they print.
_PASS_COMMANDS = frozenset(
    "init ls list find search insert add edit generate rm remove mv cp git help version grep "
    "otp sync setup config audit".split()
)


#: docker objects whose inspect output holds an environment (a network's or a volume's holds
#: none), and a --format template that prints it.
_WITH_ENVIRONMENT = frozenset({"container", "image", "service", "compose"})
_ENVIRONMENT_FORMAT = re.compile(r"Env|\{\{\s*(json\s+)?\.(Config|Spec)?\s*\}\}")


def _inspects_environment(run: Invocation, operands: list[str]) -> bool:
    """``docker inspect web``, ``docker container inspect``, ``docker compose config``; not
    ``docker network inspect`` nor a ``--format`` that picks no environment."""
    if operands[:2] == ["compose", "config"]:
        return True
    if operands[:1] != ["inspect"] and not (
        operands[1:2] == ["inspect"] and operands[0] in _WITH_ENVIRONMENT
    ):
        return False
    args = run.args
    for i, a in enumerate(args):
        template: str | None = ""
        if a in ("-f", "--format"):
            template = args[i + 1] if i + 1 < len(args) else None
        elif a is not None and a.startswith("--format="):
            template = a.split("=", 1)[1]
        if template != "":
            return template is None or bool(_ENVIRONMENT_FORMAT.search(template))
    return True


def secret_read(run: Invocation, why: str) -> Effect:
    """The effect of a command that prints secrets."""
    return effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                  span=run.span, why=why, tool=run.base)  # fmt: skip
