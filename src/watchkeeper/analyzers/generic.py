"""A command-line tool nobody describes, judged by the words of its subcommand.

``gh repo delete`` deletes, ``vault kv get`` reads, ``restic backup`` creates, whatever the
tool (see :mod:`~watchkeeper.analyzers.vocabulary`); a program whose words say nothing known
stays ``unknown``. The tools watchkeeper does describe have records in
:mod:`~watchkeeper.analyzers.tools`.
"""

from __future__ import annotations

import itertools
import re

from watchkeeper.analyzers.invocation import Invocation, effect
from watchkeeper.analyzers.locations import locate
from watchkeeper.analyzers.vocabulary import (
    Change,
    asks_for_help,
    dry_run,
    reads_secret,
    verb_of,
    words_of,
)
from watchkeeper.models import Effect

#: Words that hand out access: a grant, whatever verb the tool uses.
_GRANTS = re.compile(
    r"(^|[\s_-])(iam|access-key|login-profile|add-user|add-member|add-role|attach|grant|"
    r"role-binding|rolebinding|policy-binding|add-iam|permission|acl|sudoers|authorized)",
)
_RECOVERY = {"create": "delete what was created"}
#: Subcommands (word pairs) that publish local files: a gist, a release's assets.
_PUBLISHES = frozenset(
    {("gist", "create"), ("gist", "edit"), ("release", "create"), ("release", "upload"),
     ("snippet", "create"), ("paste", "create")}
)  # fmt: skip


def generic_cli(run: Invocation, dry_run_documented: bool = False) -> list[Effect]:
    """A command-line tool nobody describes, judged by its subcommand words.

    ``gh repo delete`` deletes, ``vault kv get`` reads, ``restic backup`` creates, whatever the
    tool (see :mod:`~watchkeeper.analyzers.vocabulary`). A program whose words say nothing
    known stays ``unknown``: nothing says what it does.
    """
    known = run.known()
    trusted = "/" not in run.name and "POSIXLY_CORRECT" not in run.variables
    if trusted and (asks_for_help(known) or (dry_run_documented and dry_run(known))):
        verb: Change | None = "read"
    else:
        verb = verb_of(words_of(known, 5), known)
    if "/" in run.name and verb != "delete":  # ./wipe-prod.sh list: a script's words prove nothing
        verb = None
    if verb is None:
        unknown = effect(
            "unknown", "process", run.name, span=run.span, why=f"no knowledge of {run.base!r}"
        )
        own = "/" in run.name and locate(run.name) == "workspace"
        if own and not run.written(run.name)[0] and run.payload_of(run.name) is None:
            return [unknown.with_attributes(runs="project")]  # ./target/release/app, bin/dev
        return [unknown]
    if verb in ("create", "update") and _GRANTS.search(" ".join(words_of(known, 5))):
        # aws iam add-user-to-group, create-access-key, attach-role-policy: access, not a thing
        return [effect("grant", "cloud_resource", None, flags=["privileged"], span=run.span,
                       tool=run.base)]  # fmt: skip
    words = words_of(known, 5)
    if verb in ("create", "update") and any(p in _PUBLISHES for p in itertools.pairwise(words)):
        # gh gist create notes.md, gh release upload v1 ./dist/*: local files go out to others
        return [effect("send", "cloud_resource", None, reversible="no", flags=["egress"],
                       span=run.span, tool=run.base, why="publishes files")]  # fmt: skip
    if verb == "read" and reads_secret(words_of(known, 5)):
        return [effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                       span=run.span, tool=run.base)]  # fmt: skip
    undoable = verb == "read" or (
        verb == "create"
        and not any(a.startswith("/dev/") for a in known)  # zpool create tank /dev/sda
        and not any(a in ("-f", "--force") or a.startswith("--force") for a in known)
    )
    return [
        effect(
            verb,
            "cloud_resource",
            None,
            scope="many" if verb == "delete" else "one",
            reversible="yes" if undoable else "unknown",
            recovery=_RECOVERY.get(verb) if undoable else None,
            span=run.span,
            tool=run.base,
        )
    ]
