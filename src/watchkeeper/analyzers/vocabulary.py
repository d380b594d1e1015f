"""What subcommand words mean, for command-line tools nobody describes one by one.

Tools name their actions with a shared vocabulary: ``gh repo delete``, ``vault kv get``,
``rabbitmqctl list_queues``, ``kafka-topics --describe``, ``restic snapshots``. :func:`verb_of`
reads the words (and verb-like long flags) of one invocation and says which verb they name::

    >>> verb_of(["repo", "delete", "old"], [])
    'delete'
    >>> verb_of(["list_queues"], [])
    'read'
    >>> verb_of([], ["--bootstrap-server", "--describe"])
    'read'
    >>> verb_of(["frobnicate"], []) is None
    True

A delete word anywhere among the first words wins over everything else: ``tool list delete``
is held, not read. Words that are values (``localhost:9092``, ``s3://b``, ``123``) are not
subcommands. The answer is ``None`` when no word is known: the caller says ``unknown``.
"""

from __future__ import annotations

import re
from typing import Literal

_DELETE = frozenset(
    """
    delete del destroy remove rm rmi rb purge drop terminate prune forget revoke reset wipe
    uninstall flush flushall flushdb kill clear truncate down disable deactivate erase unset
    deregister unregister detach evict expunge nuke obliterate cancel abort discard invalidate
    deletefile rmdir rmdirs cleanup clean compact dedupe force_reset force-reset rdelete
    """.split()
)
#: Words that name reading. `watch` is not one: `consul watch … handler.sh` runs a handler on
#: every change, and build tools' `watch` rebuilds.
READ_WORDS = frozenset(
    """
    list ls lsd lsf lsl lsjson get show describe view status info version help logs log inspect
    search diff check checks whoami who-am-i cat stat top ping validate lint history audit query
    tail doctor health report lookup read find browse exists head hash du size about
    md5sum sha1sum sha256sum stats snapshots dump explain evaluate presign url diagnostic
    diagnostics cluster-info api-versions api-resources verify test-dns-answer receive-message
    print display count tree env whoami config-view can-i events metrics usage quota plan
    preview outdated licenses where which ps images port
    """.split()
)
#: Creating something new: undone by deleting it again.
_CREATE = frozenset(
    """
    create new add backup build pull init login tag mb mkdir clone snapshot register
    """.split()
)
_READ_PREFIX = re.compile(
    r"^(list|get|show|describe|head|ls|lookup|read|view|print|display|check|search|query|scan|"
    r"count|fetch|download|test|validate|verify|estimate|preview|export)[-_]"
)
_READ_SUFFIX = re.compile(r"[-_](list|ls|info|status|show|get|describe|versions?|stats)$")
_DELETE_PREFIX = re.compile(
    r"^(delete|remove|destroy|purge|drop|terminate|deregister|revoke|disable|detach|wipe|"
    r"flush|truncate|cancel)[-_]"
)
_DELETE_SUFFIX = re.compile(r"[-_](delete|remove|destroy|purge|drop|reset|wipe)$")
_CREATE_PREFIX = re.compile(r"^(create|add|new|register|backup|snapshot)[-_]")
_WORD = re.compile(r"^[a-z][a-z0-9_-]*$")


def words_of(args: list[str], limit: int = 3) -> list[str]:
    """The first ``limit`` arguments that read as subcommand words, lower-cased."""
    out = []
    for a in args:
        lowered = a.lower()
        if not a.startswith("-") and _WORD.match(lowered):
            out.append(lowered)
            if len(out) == limit:
                break
    return out


def flag_words(args: list[str]) -> list[str]:
    """Long flags that name an action (``--list``, ``--delete``), without their dashes."""
    out = []
    for a in args:
        if a == "--":
            break
        if a.startswith("--") and len(a) > 2:
            word = a[2:].split("=", 1)[0].lower()
            if word not in ("help", "version") and _one(word) is not None:
                out.append(word)
    return out


_UPDATE = frozenset(
    """
    alter update set edit patch modify rename move mv copy cp sync put upload import restore
    apply deploy publish push replace overwrite write run exec execute start stop restart
    scale rollout rollback enable configure setup install upgrade mount unlock activate
    promote trigger invoke send pub publish dispatch fix autofix use switch select archive
    unarchive roll rotate recreate break-lock
    """.split()
)
#: Words that are verbs in one tool and nouns in another (`gh run view`, `gh workflow run`).
_NOUNS = frozenset(
    """
    run restore backup version config configure log logs snapshot snapshots tag build report env
    plan top
    history audit metrics events usage quota health status search query export import exec
    """.split()
)
#: The verbs subcommand words name, by how much they change.
Change = Literal["read", "create", "update", "delete"]
_SEVERITY: dict[Change, int] = {"read": 0, "create": 1, "update": 2, "delete": 3}


def _one(word: str) -> Change | None:
    if word in _DELETE or _DELETE_PREFIX.match(word) or _DELETE_SUFFIX.search(word):
        return "delete"
    if word in READ_WORDS or _READ_PREFIX.match(word):
        return "read"
    if word in _CREATE or _CREATE_PREFIX.match(word):
        return "create"  # create-policy-version creates, whatever its last word
    if word in _UPDATE:
        return "update"
    if _READ_SUFFIX.search(word):
        return "read"
    return None


def verb_of(words: list[str], flags: list[str]) -> Change | None:
    """The verb the subcommand ``words`` (and verb-like long ``flags``) name, or ``None``.

    ``read``, ``create``, ``update`` or ``delete``. A delete anywhere wins. Otherwise the action
    is the first plain verb among the words (``restic snapshots``, ``vault kv get``, ``fastly
    service version activate``, ``gh run view``), raised by any stronger verb a flag names
    (``kafka-topics --create``).
    """
    named = [(w, _one(w)) for w in words]
    if any(v == "delete" for _, v in named):
        return "delete"
    # Tools say `tool [noun…] verb`: a word that is also a noun (`gh run view`, `velero restore
    # describe`) gives way to a plain verb after it, and names the action only when none follows.
    # A word read only by its suffix (`project-info`, `node-status`) names a thing, not the act.
    nounish = {w for w, v in named if v == "read" and w not in READ_WORDS and _READ_SUFFIX.search(w)
               and not _READ_PREFIX.match(w)}  # fmt: skip
    plain: list[Change] = [
        v for w, v in named if v is not None and w not in _NOUNS and w not in nounish
    ]
    nouns: list[Change] = [v for w, v in named if v is not None and (w in _NOUNS or w in nounish)]
    found: list[Change] = plain[:1] or ([max(nouns, key=_SEVERITY.__getitem__)] if nouns else [])
    found += [v for v in (_one(f) for f in flag_words(flags)) if v is not None]
    if not found:
        return None
    return max(found, key=_SEVERITY.__getitem__)


def asks_for_help(args: list[str]) -> bool:
    """``--help`` or ``--version`` before ``--``: the tool prints and exits, nothing else.

    Only as a switch: ``--version 5`` (a flag with a value, as ``aws`` and ``fastly`` use it)
    asks for nothing.
    """
    for i, a in enumerate(args):
        if a == "--":
            return False
        if a in ("--help", "--version") and (i + 1 == len(args) or args[i + 1].startswith("-")):
            return True
        if not a.startswith("-") and not _WORD.match(a.lower()):
            # `rm -rf /srv --help`: with POSIXLY_CORRECT, or a tool that reads in order, the
            # path is acted on first. Only subcommand words may come before the switch.
            return False
    return False


def dry_run(args: list[str]) -> bool:
    """A dry run asked for by flag (``--dry-run``, ``--dryrun``, ``--dry-run=client``)."""
    for a in args:
        if a == "--":
            return False
        name, _, value = a.partition("=")
        if name in ("--dry-run", "--dryrun", "--dry_run") and value.lower() not in (
            "none",
            "false",
        ):
            return True
    return False


_SECRET_NOUN = re.compile(r"(secret|password|credential|token|keyvault|vault|apikey|api-key)")
VALUE_VERB = re.compile(
    r"^(get|read|show|access|download|reveal|export|print|dump|cat|view)$|"
    r"get-secret-value|get-\w*credentials|get-password|access-secret|"
    # one word naming both: get-login-password, get-session-token, print-access-token
    r"^(get|print|show|read|reveal|export|dump|generate)-[\w-]*(password|token|secret|credential)s?$"
)


def reads_secret(words: list[str]) -> bool:
    """Whether subcommand ``words`` read a secret's value (``vault kv get``, ``aws
    secretsmanager get-secret-value``), not its name (``list-secrets``, ``describe-secret``)."""
    return any(_SECRET_NOUN.search(w) for w in words) and any(VALUE_VERB.search(w) for w in words)
