"""Routine project work: test runners, type checkers, linters, formatters and builders, as data.

An agent runs these all day. They run the project's own code (a test suite, a build script),
and change only the working tree and what a build regenerates, so the effect says so: verb
``execute`` on a ``process``, with ``routine`` naming the kind of work. Standing orders free
routine work by that attribute; what is not in the table (``make deploy``, ``npm run
release``) is judged as before, by its words.

A tool's record is the work each of its subcommands does; ``""`` is the tool run with no
subcommand (``pytest``, ``make``), ``"*"`` any arguments at all::

    routine_of("npm", ["run", "test"])    # 'tests'
    routine_of("cargo", ["clippy"])       # 'lint'
    routine_of("make", ["deploy"])        # None: not routine
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from watchkeeper.analyzers.invocation import Invocation, effect
from watchkeeper.analyzers.paths import path_flags
from watchkeeper.models import Effect

Routine = Literal["tests", "build", "lint", "typecheck", "format"]

_TESTS: Mapping[str, Routine] = {"*": "tests"}
_CHECKS: Mapping[str, Routine] = {"*": "typecheck"}
_LINTS: Mapping[str, Routine] = {"*": "lint"}
_FORMATS: Mapping[str, Routine] = {"*": "format"}
#: Script names package.json, Makefiles and task runners use for routine work.
_SCRIPTS: Mapping[str, Routine] = {
    "test": "tests", "tests": "tests", "check": "tests", "unit": "tests", "e2e": "tests",
    "integration": "tests", "coverage": "tests", "test:unit": "tests", "test:e2e": "tests",
    "build": "build", "compile": "build", "all": "build", "dev": "build", "clean": "build",
    "lint": "lint", "lint:fix": "lint", "typecheck": "typecheck", "type-check": "typecheck",
    "types": "typecheck", "tsc": "typecheck", "format": "format", "fmt": "format",
    "prettier": "format",
}  # fmt: skip

_MAKE: Mapping[str, Routine] = _SCRIPTS  # `make` alone: whatever the first recipe is
_GRADLE: Mapping[str, Routine] = {
    "test": "tests", "check": "tests", "build": "build", "assemble": "build", "clean": "build"
}  # fmt: skip

#: Each tool's record: its subcommands (or ``""``, ``"*"``) and the work they do.
TOOLS: Mapping[str, Mapping[str, Routine]] = {
    **dict.fromkeys(
        "pytest py.test nosetests jest vitest mocha ava rspec phpunit karma playwright "
        "cypress bats".split(),
        _TESTS,
    ),
    **dict.fromkeys("mypy pyright pyre tsc vue-tsc flow".split(), _CHECKS),
    **dict.fromkeys(
        "eslint flake8 pylint pyflakes pycodestyle pydocstyle bandit vulture stylelint "
        "markdownlint rubocop standard xo tflint checkov cfn-lint ansible-lint".split(),
        _LINTS,
    ),
    **dict.fromkeys(
        "black isort prettier gofmt goimports rustfmt autopep8 yapf clang-format shfmt "
        "biome dprint".split(),
        _FORMATS,
    ),
    "go": {"test": "tests", "vet": "lint", "build": "build", "fmt": "format", "generate": "build"},
    "cargo": {
        "test": "tests",
        "nextest": "tests",
        "bench": "tests",
        "build": "build",
        "check": "typecheck",
        "clippy": "lint",
        "fmt": "format",
        "doc": "build",
        "clean": "build",
    },
    **dict.fromkeys("npm yarn pnpm bun".split(), _SCRIPTS),
    **dict.fromkeys("make gmake just task".split(), _MAKE),
    "mvn": {
        "test": "tests",
        "verify": "tests",
        "compile": "build",
        "package": "build",
        "clean": "build",
    },
    **dict.fromkeys("gradle gradlew ./gradlew".split(), _GRADLE),
    "dotnet": {"test": "tests", "build": "build", "format": "format"},
    "swift": {"test": "tests", "build": "build"},
    "mix": {"test": "tests", "compile": "build", "format": "format"},
    "tox": {"": "tests"},
    "nox": {"": "tests"},
    "pre-commit": {"run": "lint"},
}
#: Options that point the tool at another project or configuration, make it load or run a
#: named program, or write or delete somewhere of their choosing: with any of them (however
#: spelt: ``--x=v``, ``-Cv``), the work is not routine.
_REDIRECTING = frozenset(
    """
    --prefix -C --directory --dir --cwd -w --workspace --workspaces --manifest-path --rootdir
    --root --rootDir --roots --workspace-root --exec -exec -toolexec --makefile -f --file -I
    --include-dir -e --environment-overrides --eval -E -c --config --config-file --conf -p
    --project --project-dir -b --build-file --settings-file --init-script -s --settings -D -P
    --basetemp --confcutdir --junitxml --junit-xml --resultlog --result-log -o --override-ini
    --outFile --outDir --out --output -output --output-file --out-dir --artifact-dir
    --target-dir --modfile -modfile -overlay -pkgdir --rulesdir --resolve-plugins-relative-to
    --plugin --load-plugins --init-hook --rcfile --require -r --bootstrap --configuration
    --script-shell --shell --workdir -x --override --setup --global-setup --test-runner
    --runner --reporter-options --require-module --justfile --rakefile --rakelibdir
    """.split()
)
#: Short options that mean something harmless to these tools (pytest -x stops at the first
#: failure, -s shows output, -ra reports; cargo -p names a package of the workspace).
_HARMLESS = {
    **dict.fromkeys(("pytest", "py.test"), frozenset("-x -s -r -q -v -k -m -n -l".split())),
    "cargo": frozenset("-p -q -v -j".split()),
    "go": frozenset("-v -run -count -race -short -cover -json -timeout -p".split()),
}
#: Words that reach outside the working tree: an absolute or home path, a variable, ``..``.
_OUTSIDE = re.compile(r"^[/~$]|(^|/)\.\.(/|$)")


def _inside(tool: str, word: str) -> bool:
    """Whether ``word`` keeps the work in the working tree: no redirecting option however it is
    spelt, and no value or operand that reaches outside it."""
    harmless = _HARMLESS.get(tool, frozenset())
    name, _, value = word.partition("=")
    if (
        word.startswith("-")
        and not word.startswith("--")
        and len(word) > 2
        and name not in harmless
    ):
        name, value = word[:2], word[2:]  # -C~, -f/tmp/x.mk: the value joined to the option
    if name in _REDIRECTING and name not in harmless:
        return False
    return not _OUTSIDE.search(value if word.startswith("-") else word)


def reaches_outside(tool: str, words: list[str | None]) -> bool:
    """Whether a routine tool's ``words`` take it outside the working tree (an option that
    redirects it, a path or value outside): then it runs code or writes where nothing says."""
    return not all(_inside(tool, w) for w in words if w is not None)


def routine_of(tool: str, words: list[str | None]) -> Routine | None:
    """The routine work ``tool words…`` does, or ``None`` when it is not (or not provably) one.

    ``words`` are the arguments as the shell gives them, ``None`` where computed at run time:
    a computed script name (``npm run $X``) could be any script.
    """
    record = TOOLS.get(tool)
    if record is None or reaches_outside(tool, words):
        return None  # npm --prefix ../other test, make -C~, pytest --basetemp=/home, /tmp/x
    if "*" in record:
        return None if None in words else record["*"]
    plain = [w for w in words if w is None or not w.startswith("-")]
    if not plain:
        return record.get("")
    first = plain[0]
    if first is None:
        return None
    if first == "run" and tool in ("npm", "yarn", "pnpm", "bun"):
        script = plain[1] if len(plain) > 1 else None
        return _SCRIPTS.get(script) if script else None
    if tool in ("make", "gmake", "just", "task") and any(
        w is None or "=" in w or w not in record for w in plain
    ):  # every target routine; `make VAR=x` changes what a target does
        return None
    return record.get(first)


#: Flags with which a formatter only reports what it would change.
_REPORTS = frozenset("--check --diff -l --list-different -d --dry-run --verify-no-changes".split())


def routine_work(run: Invocation) -> list[Effect] | None:
    """The effects of ``run`` when it is routine work (:data:`TOOLS`), else ``None``.

    A formatter rewrites the files it is given (the working tree when none); every other kind
    runs the project's code: ``execute`` a ``process``, ``routine`` saying which work.
    """
    if "/" in run.name and run.name != "./gradlew":  # ./pytest is whatever that file is
        return None
    if run.variables:  # PYTEST_ADDOPTS=…, MAKEFILES=…, GOFLAGS=…: the tool is told more
        return None
    tool = "./gradlew" if run.name == "./gradlew" else run.base
    kind = routine_of(tool, run.args)
    if kind is None:
        return None
    known = run.known()
    if kind != "format":
        return [effect("execute", "process", tool, reversible="unknown", routine=kind,
                       span=run.span)]  # fmt: skip
    if any(a in _REPORTS for a in known):
        return [effect("read", "directory", ".", reversible="yes", routine=kind, span=run.span)]
    words = [a for a in known if not a.startswith("-")]
    paths = words[1:] if tool in _SUBCOMMANDED else words
    return [
        effect("update", "directory", p, scope="many", reversible="unknown",
               recovery="the version control history", flags=path_flags(p), routine=kind,
               span=run.span)
        for p in paths or ["."]
    ]  # fmt: skip


#: Tools of :data:`TOOLS` whose first word is a subcommand, not a path.
_SUBCOMMANDED = frozenset("go cargo dotnet mix swift".split())


#: Runners that run the program named by their first word (``npx jest``), and those that run
#: it after a ``run`` or ``exec`` word (``uv run pytest``, ``bundle exec rspec``).
_FIRST_WORD = frozenset("npx bunx pnpx uvx".split())
_AFTER_RUN = frozenset("uv poetry pipenv pdm hatch rye pixi bundle conda mamba".split())


def routine_inside(run: Invocation) -> list[Effect] | None:
    """``npx jest``, ``bunx vitest``: the routine work a package runner runs, when the program
    directly follows it (an option in between could take the program's place); else
    ``None``."""
    if "/" in run.name or run.base not in _FIRST_WORD or not run.args:
        return None
    inner = run.rest(0)
    return routine_work(inner) if inner is not None else None


def environment_runner(run: Invocation) -> Invocation | None:
    """``uv run pytest``, ``poetry run mypy src``, ``bundle exec rspec``: the command an
    environment manager runs, to be judged as that command (``uv run rm -rf ~`` is ``rm``);
    ``None`` when an option comes first (it could take the program's place as its value)."""
    if "/" in run.name or run.base not in _AFTER_RUN or run.args[:1] not in (["run"], ["exec"]):
        return None
    if len(run.args) < 2 or run.args[1] is None or run.args[1].startswith("-"):
        return None
    return run.rest(1)


#: Build tools' tasks that publish what they built (a registry keeps a published version).
PUBLISHING = {
    **dict.fromkeys(("gradle", "gradlew"), re.compile(r"^publish\w*$|^uploadArchives$")),
    **dict.fromkeys(("mvn", "mvnw"), re.compile(r"^(deploy|release:perform|deploy:deploy\w*)$")),
    "twine": re.compile(r"^upload$"),
    "hatch": re.compile(r"^publish$"),
    "flit": re.compile(r"^publish$"),
}


def publishes(run: Invocation) -> bool:
    """``./gradlew publish``, ``mvn deploy``, ``twine upload dist/*``: the build leaves for a
    registry (``./gradlew`` and ``./mvnw`` are the project's own wrappers of the tools)."""
    tasks = PUBLISHING.get(run.base)
    if tasks is None or ("/" in run.name and run.name not in ("./gradlew", "./mvnw")):
        return False
    return any(a is not None and tasks.match(a) for a in run.args)
