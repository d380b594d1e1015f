"""What infrastructure CLIs do: git, terraform/tofu, kubectl/helm, aws/gcloud/az, docker.

Each function reads one :class:`~watchkeeper.analyzers.invocation.Invocation` and returns its
effects; destructive subcommands are deletes or overwrites, irreversible when the flags say so
(``--skip-final-snapshot``, ``--force``, force pushes).
"""

from __future__ import annotations

import re
from typing import Any

from watchkeeper.analyzers.effects import Scope, TargetKind, Verb
from watchkeeper.analyzers.invocation import Invocation, effect
from watchkeeper.analyzers.paths import path_flags
from watchkeeper.analyzers.vocabulary import asks_for_help, dry_run, reads_secret, verb_of, words_of
from watchkeeper.models import Effect

_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—−", "-"))
GIT_READS = frozenset(
    """
    status log diff show blame grep fetch ls-files ls-tree ls-remote remote rev-parse describe
    shortlog cat-file config help version whatchanged show-ref show-branch show-index
    diff-files diff-index diff-tree for-each-ref name-rev rev-list merge-base verify-commit
    verify-tag verify-pack count-objects fsck check-ignore check-attr check-ref-format
    check-mailmap var range-diff cherry annotate archive bundle request-pull get-tar-commit-id
    column
    """.split()
)
#: `git branch` flags that only choose what the listing shows.
GIT_BRANCH_LISTS = frozenset(
    """
    -a --all -r --remotes -l --list -v -vv --verbose --color --no-color --column --no-column
    --sort --merged --no-merged --contains --no-contains --points-at --format --show-current
    -i --ignore-case --abbrev --no-abbrev -q --quiet
    """.split()
)
#: `git remote` subcommands that only show (no subcommand lists the remotes).
GIT_REMOTE_READS = frozenset({"show", "get-url"})
#: `git config` subcommands (git 2.46+) that change the configuration or open an editor.
_GIT_CONFIG_CHANGES = frozenset("set unset edit rename-section remove-section".split())
#: Changes git can undo (from the reflog or by another commit): reversible.
GIT_UNDOABLE = frozenset(
    """
    add commit tag merge pull init clone cherry-pick revert mv notes commit-tree commit-graph
    mktree mktag hash-object update-index write-tree am apply sparse-checkout maintenance lfs
    """.split()
)
#: Local history rewrites: the old commits stay in the reflog.
GIT_REFLOGGED = frozenset({"rebase", "replace"})


_PUSH_FORCING = ("--force", "--force-with-lease", "--force-if-includes", "--mirror", "--delete",
                 "--prune")  # fmt: skip


def _forcing(flag: str) -> bool:
    """A push flag that replaces or deletes remote refs, as git reads it: git takes any
    unambiguous prefix (``--forc``), and a misspelt ``--force-…`` is not worth the risk."""
    return flag.startswith("--force") or (
        len(flag) >= 4 and any(f.startswith(flag) for f in _PUSH_FORCING)
    )


def _remote_named(words: list[str]) -> bool:
    """``git push origin main`` names a configured remote; a URL or path sends anywhere."""
    return not words or (not any(c in words[0] for c in ":/@\\") and words[0] not in (".", ".."))


#: Short flags whose value may follow in the same bundle (`checkout -bfeature` is -b feature,
#: not -f), per subcommand: `push -uf` is -u -f.
_GIT_SHORT_VALUED = {
    "checkout": "bB",
    "switch": "cC",
    "commit": "mFCc",
    "tag": "mF",
    "merge": "mFsX",
    "push": "o",
    "rebase": "xsX",
    "stash": "m",
}
#: Long flags that take the next word as their value (`--conflict merge` names no path).
_GIT_LONG_VALUED = frozenset(
    "--conflict --unified --inter-hunk-context --pathspec-from-file --message --file --author "
    "--date --template --reuse-message --reedit-message --fixup --squash --cleanup --depth "
    "--branch --origin --reference --separate-git-dir --config --jobs --strategy "
    "--strategy-option --onto --exec".split()
)


def _git_flags(rest: list[str], sub: str) -> set[str]:
    """Flags as git reads them, bundles split: ``-qf`` → ``-q``, ``-f``; ``checkout -bfix`` →
    ``-b`` (the rest is its value)."""
    out = set()
    valued = _GIT_SHORT_VALUED.get(sub, "")
    for a in rest:
        if a == "--":
            break
        if a.startswith("--"):
            out.add(a.split("=", 1)[0])
        elif a.startswith("-") and len(a) > 1:
            for c in a[1:]:
                out.add(f"-{c}")
                if c in valued:
                    break
    return out


def _has(flags: set[str], *names: str) -> bool:
    """Any of ``names`` among ``flags``, as git reads long options: any unambiguous prefix
    (``--har`` is ``--hard``), taken here as the option it could be (fail closed)."""
    for f in flags:
        for name in names:
            if f == name or (f.startswith("--") and len(f) >= 3 and name.startswith(f)):
                return True
    return False


#: `git -c` settings that change nothing a person would hold: names, colours, advice.
_GIT_HARMLESS_CONFIG = re.compile(
    r"^(user\.(name|email)|color\.[\w.]+|advice\.\w+|core\.quotepath|init\.defaultbranch|"
    r"safe\.directory|log\.\w+|i18n\.\w+)=",
    re.IGNORECASE,
)
#: Options that make git run a program it is given.
_GIT_RUNS = ("--upload-pack", "--receive-pack", "--exec", "--open-files-in-pager", "--extcmd",
             "--config-env", "--tool")  # fmt: skip
#: Settings that run programs later, every time (hooks, aliases, pagers, helpers).
_GIT_RUNS_LATER = re.compile(
    r"(hookspath|alias\.|pager|editor|fsmonitor|sshcommand|helper|external|\.command|"
    r"textconv|\.cmd|askpass|gpg\.program|core\.attributesfile|include\.|includeif\.)",
    re.IGNORECASE,
)


def _git_words(rest: list[str]) -> list[str]:
    """The non-flag words, without the values of flags that take one."""
    out, skip = [], False
    for i, a in enumerate(rest):
        if skip:
            skip = False
        elif a == "--":
            out.extend(rest[i:])
            break
        elif a.startswith("-"):
            skip = a in _GIT_LONG_VALUED or a in ("-m", "-F", "-U", "-o", "-X", "-s")
        else:
            out.append(a)
    return out


#: Git settings that hold a credential: `http.extraheader` (an Authorization header),
#: `*.password`, `*.token`.
_GIT_SECRET_SETTING = re.compile(r"extraheader|passw|token|secret", re.IGNORECASE)


def git(run: Invocation) -> list[Effect]:
    """git, as :func:`_git` reads it; and any subcommand that is not a read, given one of
    watchkeeper's own files (``git rm .claude/settings.json``, ``git mv .claude x``), tampers."""
    found = _git(run)
    known = run.known()
    sub = next((a for a in known if not a.startswith("-")), "")
    if sub not in GIT_READS:
        guarded = [
            a for a in known[1:] if not a.startswith("-") and "guard_tamper" in path_flags(a)
        ]
        if guarded:
            found.append(effect("update", "file", guarded[0], reversible="unknown",
                                flags=["guard_tamper"], span=run.span,
                                why=f"git {sub} on watchkeeper's own files"))  # fmt: skip
    return found


def _git(run: Invocation) -> list[Effect]:
    """git: discarding work, rewriting history and force pushes are irreversible."""
    # Lower-cased and with look-alike dashes made plain: `git RESET ‐‐HARD` reads as reset --hard.
    plain = [a.translate(_DASHES) for a in run.known()]
    known = [a.lower() for a in plain]
    i = 0  # -C dir, -c k=v, --git-dir, --work-tree come before the subcommand
    while i < len(known) and known[i].startswith("-"):
        i += 2 if known[i] in ("-c", "--git-dir", "--work-tree") else 1
    sub, rest = (known[i], known[i + 1 :]) if i < len(known) else ("", [])
    # Short flags keep their case (`branch -d` is safe, `-D` is not); long ones need not.
    flags = _git_flags(plain[i + 1 :], sub) | _git_flags(rest, sub) if i < len(known) else set()
    words = [w for w in _git_words(rest) if w != "--"]
    target = words[-1] if words else None

    def dynamic_git(why: str) -> list[Effect]:
        return [effect("unknown", "git_ref", None, flags=["dynamic"], span=run.span, why=why)]

    settings = [plain[j + 1] for j in range(min(i, len(plain) - 1)) if plain[j] == "-c"]  # not -C
    if any(not _GIT_HARMLESS_CONFIG.match(v) for v in settings) or "--config-env" in " ".join(
        known[:i]
    ):  # -c clean.requireForce=false, -c remote.origin.mirror=true, -c core.fsmonitor=…
        return dynamic_git("git -c changes what the command does")
    if (
        _has(flags, *_GIT_RUNS)
        or (sub == "grep" and "-O" in flags)
        or (sub == "difftool" and "-x" in flags)
    ):
        return dynamic_git(f"git {sub} runs a program it is given")
    if (sub, words[:1]) in (("submodule", ["foreach"]), ("bisect", ["run"])):
        return dynamic_git(f"git {sub} {words[0]} runs commands")
    written = _git_output(plain[i + 1 :], sub, words)
    if written is not None:
        return [*_git_effects(sub, rest, flags, words, target, run), written]
    return _git_effects(sub, rest, flags, words, target, run)


def _git_output(args: list[str], sub: str, words: list[str]) -> Effect | None:
    """A file a git "read" writes: ``log --output=F``, ``archive -o F``, ``bundle create F``."""
    for j, a in enumerate(args):
        path = None
        if a.startswith("--output="):
            path = a.split("=", 1)[1]
        elif a in ("--output", "-o") and sub in ("archive", "log", "diff", "format-patch", "show"):
            path = args[j + 1] if j + 1 < len(args) else None
        if path is not None:
            return effect("overwrite", "file", path, reversible="no", flags=path_flags(path))
    if sub == "bundle" and words[:1] == ["create"] and len(words) > 1:
        return effect("overwrite", "file", words[1], reversible="no", flags=path_flags(words[1]))
    return None


def _git_effects(
    sub: str,
    rest: list[str],
    flags: set[str],
    words: list[str],
    target: str | None,
    run: Invocation,
) -> list[Effect]:
    """Effects of one git subcommand, its flags already read."""

    def lost(verb: Verb, kind: TargetKind, scope: Scope = "many") -> list[Effect]:
        # reset --hard, clean -f, checkout -- ., stash clear: work nothing else holds is gone
        what = "stashed work" if kind == "git_ref" else "uncommitted work"
        return [effect(verb, kind, target, scope=scope, reversible="no", span=run.span,
                       discards=what)]  # fmt: skip

    forcing = "-f" in flags or _has(flags, "--force")
    if sub == "rm" and forcing:  # git rm -f: the edits of those files are gone with them
        return lost("delete", "file")
    if sub == "checkout-index" and forcing:  # -f -a: every tracked file over its edits
        return lost("overwrite", "file")
    if sub == "update-ref" and "-d" in flags:  # the branch and its reflog, unlike branch -d
        return [effect("delete", "git_ref", target, reversible="no", span=run.span)]
    if sub in ("update-ref", "symbolic-ref"):
        return [effect("overwrite", "git_ref", target, reversible="unknown", span=run.span)]
    if sub == "clone" and any(
        f.split("=", 1)[0] in ("-u", "--upload-pack", "--template", "-c", "--config") for f in flags
    ):  # clone -u CMD runs CMD; a template's hooks and a -c setting run later
        return [effect("execute", "process", None, flags=["dynamic"], span=run.span,
                       why=f"git {sub} with an option that runs a command")]  # fmt: skip
    if sub == "apply" and _has(flags, "--unsafe-paths"):  # writes outside the repository
        return [effect("update", "file", None, scope="many", reversible="unknown",
                       span=run.span)]  # fmt: skip
    if sub == "push":
        forced = flags & {"-f", "-d"} or any(_forcing(f) for f in flags)
        leased = forced and all(
            f in ("--force-with-lease", "--force-if-includes")
            or f.startswith("--force-with-lease=")
            for f in flags
            if f in ("-f", "-d") or _forcing(f)
        )
        if leased and not any(w.startswith(("+", ":")) for w in words):
            # The lease: git replaces the remote tip only if it is the one this clone last
            # fetched, so the commits it drops are in this clone's objects and reflog.
            return [
                effect(
                    "overwrite",
                    "git_ref",
                    target,
                    reversible="yes",
                    span=run.span,
                    recovery="push the old tip back: it is in this clone's reflog of the "
                    "remote branch",
                )
            ]
        if forced or any(w.startswith(("+", ":")) for w in words):
            return [
                effect(
                    "overwrite",
                    "git_ref",
                    target,
                    reversible="no",
                    span=run.span,
                    recovery="push the old commit back, if anyone still has it",
                )
            ]
        return [
            effect(
                "update",
                "git_ref",
                target,
                reversible="yes",
                recovery="push a revert commit",
                flags=[]
                if _remote_named(words) and not any(a.startswith("--repo") for a in rest)
                else ["egress"],
                span=run.span,
            )
        ]
    if sub == "reset":
        if _has(flags, "--hard", "--merge", "--keep") or "--hard" in " ".join(rest):
            return lost("delete", "file")
        return [effect("update", "git_ref", target, reversible="yes", span=run.span)]
    if sub == "clean":  # git refuses to remove anything without -f, unless asked one by one
        forced = flags & {"-f", "-i"} or _has(flags, "--force", "--interactive")
        if forced:
            return lost("delete", "file")
        return [effect("read", "file", None, reversible="yes", span=run.span,
                       why="git clean without -f only lists")]  # fmt: skip
    if sub == "restore":
        if (_has(flags, "--staged") or "-S" in flags) and not (
            _has(flags, "--worktree") or "-W" in flags
        ):
            return [effect("update", "git_ref", target, reversible="yes", span=run.span)]
        return lost("overwrite", "file")
    if sub in ("checkout", "switch"):
        forced = "-f" in flags or _has(flags, "--force", "--discard-changes")
        if (flags & {"-b", "-B", "-c", "-C"} or _has(flags, "--orphan")) and not forced:
            return [effect("create", "git_ref", target, reversible="yes", span=run.span)]
        if (
            forced
            or _has(flags, "--pathspec-from-file")
            or (
                sub == "checkout" and "--" in rest  # paths follow; after `switch --` a branch does
            )
        ):
            return lost("overwrite", "file")
        if (sub == "checkout" and len(words) > 1) or words[:1] == ["."]:
            return lost("overwrite", "file")  # checkout <commit> <paths>: files replaced
        return [effect("update", "git_ref", target, reversible="yes", span=run.span)]
    if sub == "branch":
        deleting = flags & {"-d", "-D"} or _has(flags, "--delete")
        forced = flags & {"-f", "-D"} or _has(flags, "--force")
        if deleting and not forced:
            # git refuses to delete a branch that is not merged: its commits live on.
            return [
                effect(
                    "delete",
                    "git_ref",
                    target,
                    reversible="yes",
                    recovery="git branch NAME COMMIT from the merge",
                    span=run.span,
                )
            ]
        if deleting:
            return [effect("delete", "git_ref", target, reversible="unknown", span=run.span)]
        if forced or flags & {"-m", "-M", "-c", "-C"} or _has(flags, "--move", "--copy"):
            return [effect("overwrite", "git_ref", target, reversible="unknown", span=run.span)]
        listing = {f.split("=", 1)[0] for f in flags} <= GIT_BRANCH_LISTS
        if not words and listing:
            return [effect("read", "git_ref", None, reversible="yes", span=run.span)]
        if flags & {"-u"} or _has(flags, "--set-upstream-to", "--unset-upstream",
                                 "--edit-description", "--track", "--no-track"):  # fmt: skip
            return [effect("update", "git_ref", target, reversible="unknown", span=run.span)]
        return [effect("create", "git_ref", target, reversible="yes", span=run.span)]
    if sub == "stash":
        if words[:1] in (["drop"], ["clear"]):
            return lost("delete", "git_ref")
        return [effect("update", "git_ref", None, reversible="yes", span=run.span)]
    if (
        sub == "worktree"
        and words[:1] == ["remove"]
        and not ("-f" in flags or _has(flags, "--force"))
    ):
        # git refuses while the worktree holds changes or untracked files: nothing is lost.
        return [effect("delete", "directory", target, reversible="yes", span=run.span,
                       recovery="git worktree add it again")]  # fmt: skip
    if sub == "worktree" and words[:1] in (["remove"], ["prune"]):
        return lost("delete", "directory")
    if sub in GIT_REFLOGGED and not ("-x" in flags or _has(flags, "--exec")):
        return [
            effect(
                "overwrite",
                "git_ref",
                None,
                scope="many",
                reversible="yes",
                recovery="git reset to the old commit from git reflog",
                span=run.span,
            )
        ]
    if sub in ("filter-branch", "filter-repo", "rebase", "reflog", "gc", "prune", "replace"):
        return [
            effect("overwrite", "git_ref", None, scope="many", reversible="unknown", span=run.span)
        ]
    if sub == "config":
        setting = words[0] if words else ""
        reading = _has(flags, "--get", "--get-all", "--get-regexp", "--list", "--show-origin",
                       "--get-urlmatch") or "-l" in flags or len(words) < 2  # fmt: skip
        changes = _has(flags, "--unset", "--unset-all", "--remove-section", "--rename-section",
                       "--edit", "--add", "--replace-all") or "-e" in flags  # fmt: skip
        asked = words[1:2] if words[:1] in (["get"], ["list"]) else words[:1]
        if (
            (reading or words[:1] == ["get"])
            and not changes
            and any(_GIT_SECRET_SETTING.search(w) for w in asked)
        ):  # http.<url>.extraheader holds the CI token actions/checkout stored there
            why = "prints a stored credential"
            return [effect("read", "secret", asked[0], reversible="yes", span=run.span,
                           flags=["credential_access"], why=why)]  # fmt: skip
        if words[:1] in (["get"], ["list"]) and not changes:
            return [effect("read", "git_ref", None, reversible="yes", span=run.span)]
        if reading and not changes and setting not in _GIT_CONFIG_CHANGES:
            return [effect("read", "git_ref", None, reversible="yes", span=run.span)]
        if _GIT_RUNS_LATER.search(setting):  # core.hooksPath, alias.x=!cmd: runs later, always
            return [effect("update", "git_ref", setting, flags=["privileged", "dynamic"],
                           span=run.span)]  # fmt: skip
        return [effect("update", "git_ref", setting, reversible="unknown", span=run.span)]
    if sub == "read-tree" and ("-u" in flags or _has(flags, "--reset")):
        return lost("overwrite", "file")  # the work tree is replaced, uncommitted edits too
    if sub == "submodule" and words[:1] == ["deinit"]:
        return lost("delete", "directory")
    if sub == "remote" and words[:1] in (["add"], ["set-url"]):
        # Where a later `git push origin` sends the code: as much egress as a URL in the push.
        return [effect("update", "git_ref", target, reversible="yes", flags=["egress"],
                       span=run.span)]  # fmt: skip
    if sub == "remote" and words and words[0] not in GIT_REMOTE_READS:
        # remove, rename, prune, set-head, set-branches, update
        return [effect("update", "git_ref", target, reversible="unknown", span=run.span)]
    if sub == "fetch" and any(":" in w and "://" not in w for w in words[1:]):
        # fetch origin main:main moves a local branch; the old commit stays in the reflog
        return [effect("update", "git_ref", target, reversible="yes", span=run.span,
                       recovery="git reset to the old commit from git reflog")]  # fmt: skip
    if sub == "format-patch" and not _has(flags, "--stdout"):  # one .patch file per commit
        return [effect("create", "file", None, reversible="yes", span=run.span,
                       recovery="delete the patch files")]  # fmt: skip
    if sub in GIT_READS or sub == "":
        return [effect("read", "git_ref", None, reversible="yes", span=run.span)]
    if sub in GIT_UNDOABLE:
        return [effect("update", "git_ref", target, reversible="yes", span=run.span)]
    # Other subcommands (`git show-merged-branches` from git-extras…) by their words.
    verb = verb_of([sub], []) if sub not in ("stash", "worktree") else None
    if verb == "read":
        return [effect("read", "git_ref", None, reversible="yes", span=run.span)]
    return [effect("update", "git_ref", target, reversible="unknown", span=run.span)]


#: terraform/tofu/terragrunt subcommands that only read (state and outputs are secrets: below).
TF_READS = frozenset(
    "plan show validate version providers graph metadata modules help output-module-groups "
    "validate-inputs info".split()
)


#: Subcommands that read only in these forms (`state show`, `state pull`: secrets, above).
TF_READ_PAIRS = frozenset(
    {"state list", "workspace list", "workspace show", "providers schema", "metadata functions"}
)


def terraform(run: Invocation) -> list[Effect]:
    """terraform, tofu and terragrunt: destroys, state surgery, what changes state, secrets."""
    known = [a for a in run.known() if not a.startswith("-chdir")]
    args_env = " ".join(v or "" for k, v in run.variables.items() if k.startswith("TF_CLI_ARGS"))
    words_all = [a for a in known if not a.startswith("-")]
    # terragrunt: `run-all destroy`, `run --all destroy`, `destroy-all`: the command after.
    if run.base == "terragrunt" and words_all[:1] in (["run-all"], ["run"]):
        words_all = words_all[1:]
    sub = words_all[0] if words_all else ""
    flags = set(known) | set(args_env.split())
    destroying = any(f == "-destroy" or (f.startswith("-destroy=") and f != "-destroy=false")
                     for f in flags)  # fmt: skip
    workspace = run.variables.get("TF_WORKSPACE")
    if sub == "workspace" and words_all[1:2] in (["select"], ["new"]) and len(words_all) > 2:
        workspace = words_all[2]  # what the rest of the line acts on
    extra: dict[str, Any] = {"workspace": workspace} if workspace else {}
    if (
        sub in ("destroy", "destroy-all")
        or (sub == "apply" and destroying)
        or (sub == "state" and words_all[1:2] in (["rm"], ["push"], ["replace-provider"]))
        or (sub == "workspace" and "delete" in words_all)
        or sub == "test"  # creates real infrastructure and destroys it again
    ):
        return [
            effect(
                "delete",
                "terraform_resource",
                None,
                scope="many",
                reversible="no",
                span=run.span,
                **extra,
            )
        ]
    if sub == "init" and not flags & {"-migrate-state", "-force-copy"}:
        # Downloads providers and modules into .terraform; state stays where it is.
        return [effect("create", "directory", ".terraform", reversible="yes", span=run.span,
                       recovery="delete .terraform", **extra)]  # fmt: skip
    # State and outputs hold passwords and keys. Terraform prints those it knows are sensitive
    # as `(sensitive value)` / `<sensitive>` unless -json or -raw is given, or one output is
    # named: `terraform show` and the list `terraform output` print no secret it knows of.
    clear = bool(flags & {"-json", "-raw"})
    if (
        (sub == "output" and (clear or len(words_all) > 1))
        or (sub == "show" and clear)
        or (sub == "state" and words_all[1:2] in (["pull"], ["show"]))
    ):
        return [effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                       span=run.span, **extra)]  # fmt: skip
    if sub == "output":
        return [effect("read", "terraform_resource", None, reversible="yes", span=run.span,
                       why="lists outputs, sensitive ones redacted", **extra)]  # fmt: skip
    if sub in ("fmt", "hclfmt") and not flags & {"-check", "-write=false", "--check"}:
        # Rewrites the configuration's layout in place; what it means is unchanged.
        chdir = next((a.split("=", 1)[1] for a in run.known() if a.startswith("-chdir=")), ".")
        where = next(iter(words_all[1:]), chdir)
        return [effect("update", "directory", where, scope="many", reversible="yes",
                       span=run.span,
                       recovery="formatting only: the configuration means the same")]  # fmt: skip
    if sub == "get":  # downloads modules into .terraform, as init does
        return [effect("create", "directory", ".terraform", reversible="yes", span=run.span,
                       recovery="delete .terraform", **extra)]  # fmt: skip
    if sub in ("login", "logout"):  # writes or removes an API token in the credentials file
        return [effect("update", "secret", None, reversible="unknown", span=run.span, **extra)]
    if sub == "console":  # evaluates expressions against the state, which holds secrets
        return [effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                       span=run.span, **extra)]  # fmt: skip
    if sub == "render-json" or (sub == "providers" and words_all[1:2] in (["lock"], ["mirror"])):
        return [effect("update", "file", None, reversible="unknown", span=run.span, **extra)]
    if sub in TF_READS or sub == "" or " ".join(words_all[:2]) in TF_READ_PAIRS:
        plan_file = next((f.split("=", 1)[1] for f in flags if f.startswith("-out=")), None)
        written = [effect("overwrite", "file", plan_file, reversible="no", span=run.span)]
        return [
            effect("read", "terraform_resource", None, reversible="yes", span=run.span, **extra),
            *(written if sub == "plan" and plan_file else []),
        ]
    # apply, import, taint, state mv, workspace select, force-unlock, refresh, run-all apply…
    return [effect("update", "terraform_resource", None, scope="many", span=run.span, **extra)]


def kubectx(run: Invocation) -> list[Effect]:
    """``kubectx prod-eu``: the rest of the line acts on that context."""
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    if not words and set(known) <= {"-c", "--current", "-h", "--help"}:  # list, or print one
        return [effect("read", "k8s_resource", None, reversible="yes", span=run.span)]
    if "-d" in known:  # deletes contexts from the kubeconfig
        return [effect("delete", "k8s_resource", None, reversible="unknown", span=run.span)]
    if "-" in known or "-u" in known or "--unset" in known or not words or "=" in words[0]:
        # back to the previous context, unset, or rename: what the rest acts on is not known
        return [effect("update", "k8s_resource", None, reversible="yes", span=run.span)]
    return [effect("update", "k8s_resource", None, reversible="yes", span=run.span,
                   context=words[0])]  # fmt: skip


#: kubectl/helm global options that take a value: `kubectl -n x delete` deletes.
_KUBE_VALUED = frozenset(
    """
    -n --namespace --context --kube-context --cluster --kubeconfig -s --server --user --token
    --as --as-group --certificate-authority --client-certificate --client-key -l --selector
    --request-timeout --tls-server-name --password --username --cache-dir --profile -v
    --kube-apiserver --kube-token --kube-as-user --kube-as-group --registry-config
    --repository-config --repository-cache
    """.split()
)
_KUBE_CONTEXT = ("--context", "--kube-context", "--cluster")


def _kube_words(known: list[str]) -> tuple[list[str], str | None]:
    """The words of a kubectl/helm line without global options' values, and the context."""
    words, context, skip = [], None, False
    for i, a in enumerate(known):
        if skip:
            skip = False
            continue
        name, eq, value = a.partition("=")
        if name in _KUBE_CONTEXT:
            context = value if eq else (known[i + 1] if i + 1 < len(known) else None)
        if a in _KUBE_VALUED:
            skip = True
        elif not a.startswith("-"):
            words.append(a)
    return words, context


def kubectl(run: Invocation) -> list[Effect]:
    known = run.known()
    words, context = _kube_words(known)
    if words[:2] in (["config", "use-context"], ["config", "set-context"]) and len(words) > 2:
        context = words[2]  # what the rest of the line acts on
    context = context or run.variables.get("KUBECONTEXT")
    extra: dict[str, Any] = {"context": context} if context else {}
    sub = words[0] if words else ""
    wide = any(a in ("--all", "-A", "--all-namespaces") for a in known)
    if dry_run(known) or asks_for_help(known):  # `kubectl delete … --dry-run=server`: nothing
        return [effect("read", "k8s_resource", None, reversible="yes", span=run.span, **extra)]
    if run.base == "helm":
        return _helm(run, sub, words, extra)
    if (
        sub == "delete"
        or sub == "drain"
        or (sub == "scale" and any(a in ("--replicas=0",) for a in known))
        or (sub == "patch" and "finalizers" in " ".join(known))
    ):
        kinds = " ".join(known)
        stateful = any(
            w in kinds
            for w in (
                "namespace",
                "ns ",
                "pvc",
                "persistentvolume",
                "crd",
                "customresourcedefinition",
            )
        )
        return [
            effect(
                "delete",
                "k8s_resource",
                None,
                scope="all" if wide else "many",
                reversible="no" if stateful else "unknown",
                span=run.span,
                **extra,
            )
        ]
    if sub == "exec":
        return [effect("execute", "process", None, flags=["dynamic"], span=run.span, **extra)]
    reads = (
        sub in KUBECTL_READS
        or " ".join(words[:2]) in KUBECTL_READ_PAIRS
        or (sub == "config" and words[1:2] and words[1] in KUBECTL_CONFIG_READS)
        or (sub == "auth" and words[1:2] in (["can-i"], ["whoami"]))
    )
    if reads:
        raw = sub == "config" and "--raw" in known  # the credentials, unredacted
        secret = raw or (sub in ("get", "describe") and any(_SECRETS.search(w) for w in known))
        if secret:
            return [effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                           span=run.span, **extra)]  # fmt: skip
        return [effect("read", "k8s_resource", None, reversible="yes", span=run.span, **extra)]
    if sub == "auth":  # auth reconcile creates or updates RBAC roles and bindings
        return [effect("grant", "k8s_resource", None, flags=["privileged"], span=run.span,
                       **extra)]  # fmt: skip
    # apply, create, edit, patch, label, config use-context/set-credentials, plugins…
    return [effect("update", "k8s_resource", None, span=run.span, **extra)]


#: kubectl subcommands that only read.
KUBECTL_READS = frozenset(
    """
    get describe logs top explain version api-resources diff cluster-info api-versions wait
    events
    """.split()
)
#: Subcommands that read only in these forms: `kubectl rollout status deploy/x`.
KUBECTL_READ_PAIRS = frozenset({"rollout status", "rollout history", "plugin list"})
#: `kubectl config` subcommands that only print (`view --raw` prints credentials).
KUBECTL_CONFIG_READS = frozenset("view get-contexts get-clusters get-users current-context".split())
#: A resource list naming secrets: `secret`, `secrets/db`, `cm,secret`, `secrets.v1.`.
_SECRETS = re.compile(r"(^|[,/])secrets?($|[,/.])")
#: helm subcommands that only read or print (`template` renders locally).
HELM_READS = frozenset(
    "list ls status get history show inspect search template lint version env verify".split()
)
#: Subcommands that read only in these forms: `helm repo list`, `helm plugin list`.
_HELM_LISTS = frozenset({"repo list", "plugin list", "dependency list", "dep list"})
#: helm's own subcommands; any other word runs a plugin, a program watchkeeper cannot see.
_HELM_BUILTIN = HELM_READS | frozenset(
    """
    completion create dependency dep install package plugin pull fetch push registry repo
    rollback test uninstall delete upgrade help
    """.split()
)


def _helm(run: Invocation, sub: str, words: list[str], extra: dict[str, Any]) -> list[Effect]:
    if sub == "get" and words[1:2] in (["values"], ["all"], ["manifest"]):
        # A release's values hold its passwords; its manifest, its Secret objects.
        return [effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                       span=run.span, why=f"helm get {words[1]} prints the release's secrets",
                       **extra)]  # fmt: skip
    if sub in HELM_READS or " ".join(words[:2]) in _HELM_LISTS or sub in ("", "help"):
        return [effect("read", "k8s_resource", None, reversible="yes", span=run.span, **extra)]
    if sub in ("uninstall", "delete", "rollback"):
        return [
            effect("delete", "k8s_resource", None, reversible="unknown", span=run.span, **extra)
        ]
    if sub in ("create", "package", "pull", "fetch"):  # a chart or an archive, written here
        return [effect("create", "file", None, reversible="yes", span=run.span)]
    if sub not in _HELM_BUILTIN:
        return [effect("execute", "process", sub, flags=["dynamic"], span=run.span,
                       why=f"helm {sub} runs a plugin")]  # fmt: skip
    # install, upgrade, test (runs the chart's test pods), repo add, plugin install, push…
    return [effect("update", "k8s_resource", None, span=run.span, **extra)]


_CLOUD_DELETE = re.compile(
    r"(delete|terminate|remove|purge|destroy|deregister|rb$|^rm$|disable|^create-invalidation$)"
)


_CLOUD_GRANTS = re.compile(
    r"(access-key|login-profile|add-user-to-group|attach-\w*policy|put-\w*policy|"
    r"add-iam-policy-binding|set-iam-policy|role assignment|add-role|create-role|"
    r"update-assume-role|create-user|add-member|grant)"
)
_CLOUD_VARIABLES = (
    ("AWS_DEFAULT_PROFILE", "profile"),
    ("AWS_PROFILE", "profile"),
    ("CLOUDSDK_CORE_PROJECT", "project"),
    ("GOOGLE_CLOUD_PROJECT", "project"),
    ("AZURE_SUBSCRIPTION_ID", "subscription"),
)


def cloud(run: Invocation) -> list[Effect]:
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    joined = " ".join(known)
    extra: dict[str, Any] = {}
    # Where the credentials point: the environment first, a flag overrides it.
    for variable, key in _CLOUD_VARIABLES:
        value = run.variables.get(variable)
        if value:
            extra[key] = value
    for flag in ("--profile", "--project", "--subscription", "--account"):
        if flag in known and known.index(flag) + 1 < len(known):
            extra[flag[2:]] = known[known.index(flag) + 1]
        for a in known:
            if a.startswith(flag + "="):
                extra[flag[2:]] = a.split("=", 1)[1]
    if dry_run(known) or asks_for_help(known) or words[-1:] == ["help"]:
        return [effect("read", "cloud_resource", None, reversible="yes", span=run.span, **extra)]
    if any(_CLOUD_DELETE.search(w) for w in words[:3]):
        unrecoverable = any(
            f in joined
            for f in (
                "--skip-final-snapshot",
                "--force",
                "--recursive",
                "--delete-automated-backups",
                "--no-deletion-protection",
            )
        )
        return [
            effect(
                "delete",
                "cloud_resource",
                None,
                scope="many",
                reversible="no" if unrecoverable else "unknown",
                span=run.span,
                **extra,
            )
        ]
    if "--no-deletion-protection" in joined or "--backup-retention-period 0" in joined:
        return [
            effect(
                "update",
                "cloud_resource",
                None,
                reversible="no",
                span=run.span,
                weakens="protection",
                **extra,
            )
        ]
    fetched = _downloads(run, words)
    if fetched is not None:  # aws s3 cp s3://b/k /tmp/x: the bucket is read, a local file written
        return [effect("read", "cloud_resource", p, reversible="yes", span=run.span, **extra)
                for p in fetched[0]] + fetched[1]  # fmt: skip
    if _uploads(words):  # aws s3 cp ./x s3://b/: local files leave the machine
        return [effect("update", "cloud_resource", words[-1], flags=["egress"], span=run.span,
                       why="uploads local files", **extra)]  # fmt: skip
    # `aws s3api head-object`, `az storage account keys list`: the verb may sit five words in.
    verb = verb_of(words_of(known, 5), [])
    if verb in ("create", "update") and _CLOUD_GRANTS.search(" ".join(words[:4])):
        return [effect("grant", "cloud_resource", None, flags=["privileged"], span=run.span,
                       **extra)]  # fmt: skip
    if verb == "read" and reads_secret(words_of(known, 5)):
        return [effect("read", "secret", None, reversible="yes", flags=["credential_access"],
                       span=run.span, **extra)]  # fmt: skip
    if verb in ("read", "create"):
        return [effect(verb, "cloud_resource", None, reversible="yes", span=run.span, **extra)]
    return [effect("update", "cloud_resource", None, span=run.span, **extra)]


_COPIES = {
    ("s3", "cp"), ("s3", "mv"), ("s3", "sync"), ("cp",), ("mv",), ("rsync",),
    ("storage", "cp"), ("storage", "mv"), ("storage", "rsync"),
}  # fmt: skip
_AZ_UPLOADS = frozenset({"upload", "upload-batch", "sync"})
_REMOTE = ("s3://", "gs://", "az://", "http://", "https://")


def _copy_operands(run: Invocation, words: list[str]) -> tuple[str, list[str], str] | None:
    """The verb, sources and destination of a cloud copy, or None when it is no copy or its
    operands are not plain: ``aws s3 cp`` takes two (its options may follow, with values);
    ``gsutil cp`` and ``gcloud storage cp`` take their options first, then sources and one
    destination."""
    head = next((c for c in _COPIES if tuple(words[: len(c)]) == c), None)
    if head is None or None in run.args:
        return None
    operands = words[len(head) :]
    if len(operands) < 2:
        return None
    if run.base == "aws":  # the words after the two are values of options (`--region x`)
        return head[-1], operands[:1], operands[1]
    return head[-1], operands[:-1], operands[-1]


def _downloads(run: Invocation, words: list[str]) -> tuple[list[str | None], list[Effect]] | None:
    """A copy from the cloud to this machine: the remote sources read, what lands written
    (``mv`` also deletes the sources there; ``sync --delete`` deletes local files), or None."""
    if words[:3] in (["storage", "blob", "download"], ["storage", "blob", "download-batch"]):
        known = run.known()
        names = ("--file", "-f") if words[2] == "download" else ("--destination", "-d")
        at = next((i for i, a in enumerate(known) if a in names), None)
        if at is None or at + 1 >= len(known) or None in run.args:
            return None
        local = known[at + 1]
        return [None], [effect("overwrite", "file", local, reversible="no", span=run.span,
                                  flags=path_flags(local), downloaded=True)]  # fmt: skip
    copy = _copy_operands(run, words)
    if copy is None:
        return None
    verb, sources, local = copy
    if local.startswith(_REMOTE) or not all(s.startswith(_REMOTE) for s in sources):
        return None
    landed = [effect("overwrite", "file", local, reversible="no", flags=path_flags(local),
                     span=run.span, downloaded=True)]  # fmt: skip
    if verb == "mv":
        landed += [effect("delete", "cloud_resource", s, reversible="unknown", span=run.span,
                          recovery=f"copy it back from {local}") for s in sources]  # fmt: skip
    if verb in ("sync", "rsync") and any(a.startswith("--delete") or a == "-d"
                                         for a in run.known()):  # fmt: skip
        landed.append(effect("delete", "file", local, scope="many", reversible="no",
                             recovery="restore from a backup", span=run.span))  # fmt: skip
    return [*sources], landed


def _uploads(words: list[str]) -> bool:
    """A copy whose destination is in the cloud and one of whose sources is on this machine
    (``aws s3 cp``, ``gsutil cp``, ``gcloud storage cp``), or an Azure blob upload."""
    if words[:2] == ["storage", "blob"] and len(words) > 2:
        return words[2] in _AZ_UPLOADS
    head = next((c for c in _COPIES if tuple(words[: len(c)]) == c), None)
    if head is None:
        return False
    operands = words[len(head) :]
    return (
        len(operands) >= 2
        and operands[-1].startswith(_REMOTE)
        and any(not o.startswith(_REMOTE) for o in operands[:-1])
    )


_DOCKER_OBJECTS = frozenset(
    """
    container image volume network compose system buildx builder context plugin secret service
    stack swarm node config trust manifest machine
    """.split()
)


#: Object and action pairs that only print: disk use, the daemon's state, its events.
DOCKER_READ_PAIRS = frozenset(
    {"system df", "system info", "system events", "compose ls", "compose ps", "compose top",
     "compose images", "compose version", "context show", "buildx du", "builder du",
     "buildx inspect", "buildx ls"}
)  # fmt: skip


def _mounted(known: list[str]) -> list[str]:
    """The host paths ``docker run`` mounts (``-v SRC:DST``, ``--volume=``, ``--mount
    source=SRC``), when they are paths (a named volume is the engine's)."""
    out = []
    for i, a in enumerate(known):
        value = None
        if a in ("-v", "--volume", "--mount") and i + 1 < len(known):
            value = known[i + 1]
        elif a.startswith(("--volume=", "--mount=")) or (a.startswith("-v") and len(a) > 2):
            value = a.split("=", 1)[1] if a.startswith("--") else a[2:]
        if value is None:
            continue
        if a.startswith("--mount"):
            fields = dict(p.split("=", 1) for p in value.split(",") if "=" in p)
            value = fields.get("source") or fields.get("src")
        else:
            value = value.split(":", 1)[0]
        if value and value.startswith(("/", "~", ".", "$")):
            out.append(value)
    return out


def docker(run: Invocation) -> list[Effect]:
    known = run.known()
    words = [a for a in known if not a.startswith("-")]
    volumes = any(a in ("-v", "--volumes") or (a.startswith("-") and "v" in a[1:3]) for a in known)
    if (words[:1] == ["volume"] and words[1:2] in (["rm"], ["prune"])) or (
        words[:2] == ["system", "prune"] and volumes
    ):
        return [effect("delete", "directory", None, scope="many", reversible="no", span=run.span)]
    if words[:1] in (["rm"], ["rmi"], ["prune"]) or words[1:2] == ["prune"]:
        return [
            effect(
                "delete", "process", None, reversible="no" if volumes else "unknown", span=run.span
            )
        ]
    if words[:1] in (["run"], ["start"], ["create"], ["exec"]) or words[1:2] == ["run"]:
        ran = effect("execute", "process", None, span=run.span)  # whatever the image does
        if any(a == "--privileged" or a.startswith(("--cap-add", "--pid=host", "--net=host",
               "--network=host", "--userns=host")) for a in known):  # fmt: skip
            ran = ran.with_flags("privileged")  # the container can act as the host
        # -v /:/host, --mount source=/etc: the container may change what it mounts
        return [ran, *(effect("update", "directory", host, reversible="unknown",
                              flags=path_flags(host), span=run.span, why="mounted into a container")
                       for host in _mounted(known))]  # fmt: skip
    if " ".join(words[:2]) in DOCKER_READ_PAIRS or words[:1] in (["info"], ["df"]):
        return [effect("read", "process", None, reversible="yes", span=run.span)]
    # `docker image ls`, `docker compose logs`: the object, then the action.
    action = words[1:2] if words[:1] and words[0] in _DOCKER_OBJECTS else words[:1]
    verb = verb_of(action, known)  # `buildx build --push` pushes
    if verb == "delete":  # `docker compose down -v` takes the volumes with it
        return [effect("delete", "process", None, reversible="no" if volumes else "unknown",
                       span=run.span)]  # fmt: skip
    if verb in ("read", "create"):
        return [effect(verb, "process", None, reversible="yes", span=run.span)]
    return [effect("update", "process", None, span=run.span)]
