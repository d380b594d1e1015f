"""Every entry the analyzers' tables mark read-only reads, and each one was reviewed.

A read is only ever a positive finding: an entry of one of these tables, or a parse. So each
table is walked three ways. A command built from each entry comes out a read with no flags.
The entries equal :data:`REVIEWED` below: a new read-only entry fails here until a reviewer
adds it, having checked that the program or subcommand reads whatever its arguments. And no
plain read-only entry is a program known to run commands, page with ``!`` or open an editor
(those readers are parsed: each refuses its escape). Last, a property: an unknown command word
with arbitrary arguments is read only when one of them is a read word of the vocabulary.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.analyzers import (
    commands,
    host,
    infra,
    packages,
    readers,
    system,
    tools,
    vocabulary,
    wrappers,
)
from watchkeeper.analyzers.shell import analyze


def _tables() -> dict[str, tuple[Iterable[str], Callable[[str], str]]]:
    """Each read-only table: its entries, and the command line one entry stands for."""
    programmed = {
        "awk": "awk '{print $1}' notes.txt",
        "sed": "sed -n 1p notes.txt",
        "mongodump": "mongodump --archive",
    }
    out: dict[str, tuple[Iterable[str], Callable[[str], str]]] = {
        "READERS": (readers.READERS, lambda n: f"{n} notes.txt"),
        "PAGERS": (readers.PAGERS, lambda n: f"{n} -R notes.txt"),
        "PROGRAMMED": (readers.PROGRAMMED, lambda n: programmed.get(n, f"{n} notes.txt")),
        "NO_EFFECT": (commands.NO_EFFECT, lambda n: {"[": "[ -f x ]", "[[": "[[ -f x ]]"}.get(
            n, f"{n} x"
        )),
        "wrappers alone": (wrappers.ALONE_READS, lambda n: n),
        "VERSION_FLAGS": (
            {f"{k}{v}" for k, t in tools.TOOLS.items() for v in t.versions},
            lambda e: e.replace("-", " -", 1),
        ),
        "CONFIG_CHECKS": (
            {f"{k}{v if v.startswith('-') else '+' + v}"
             for k, t in tools.TOOLS.items() for v in t.checks},
            lambda e: e.replace("-", " -", 1).replace("+", " ", 1),
        ),
        "READ_WORDS": (vocabulary.READ_WORDS, lambda w: f"frobctl {w} thing"),
        "GIT_READS": (infra.GIT_READS, lambda w: f"git {w}"),
        "GIT_BRANCH_LISTS": (infra.GIT_BRANCH_LISTS, lambda f: f"git branch {f}"),
        "GIT_REMOTE_READS": (infra.GIT_REMOTE_READS, lambda w: f"git remote {w} origin"),
        "TF_READS": (infra.TF_READS, lambda w: f"terraform {w}"),
        "KUBECTL_READS": (infra.KUBECTL_READS, lambda w: f"kubectl {w} pods"),
        "KUBECTL_CONFIG_READS": (infra.KUBECTL_CONFIG_READS, lambda w: f"kubectl config {w}"),
        "KUBECTL_READ_PAIRS": (
            {e.replace(" ", "+") for e in infra.KUBECTL_READ_PAIRS},
            lambda w: f"kubectl {w.replace('+', ' ')} deploy/web",
        ),
        "TF_READ_PAIRS": (
            {e.replace(" ", "+") for e in infra.TF_READ_PAIRS},
            lambda w: f"terraform {w.replace('+', ' ')}",
        ),
        "DOCKER_READ_PAIRS": (
            {e.replace(" ", "+") for e in infra.DOCKER_READ_PAIRS},
            lambda w: f"docker {w.replace('+', ' ')}",
        ),
        "LINTERS": (
            {f"{k}+{v}" if v else k for k, vs in readers.LINTERS.items() for v in vs or [""]},
            lambda w: f"{w.replace('+', ' ')} src",
        ),
        "HELM_READS": (infra.HELM_READS, lambda w: f"helm {w}"),
        "SYSTEMCTL_READS": (host.SYSTEMCTL_READS, lambda w: f"systemctl {w} nginx"),
        "SERVICE_READS": (host.SERVICE_READS, lambda w: f"service nginx {w}"),
        "IP_READS": (host.IP_READS, lambda w: f"ip route {w}"),
        "REDIS_READS": (system.REDIS_READS, lambda w: f"redis-cli {w} key"),
    }  # fmt: skip
    seen: set[int] = set()
    for name, manager in packages.MANAGERS.items():
        if id(manager) in seen:
            continue  # pip3, apt-get, dnf: the same record under another name
        seen.add(id(manager))
        out[name] = ({e.replace(" ", "+") for e in manager.reads}, _run(name))
        if manager.alone:
            out[f"{name} alone"] = (manager.alone, _run(name))
    return out


def _run(manager: str) -> Callable[[str], str]:
    return lambda entry: f"{manager} {entry.replace('+', ' ')}"


TABLES = _tables()

#: What a reviewer signed off as read-only. A change to any table above must change this, on
#: purpose: check the new entry only reads (no writing option, no command it runs, no editor or
#: pager it opens), then add it here.
REVIEWED = {
    "READERS": """
        apropos arch base64 basename bc blkid bzcat cal cat cmp column comm cut df diff
        dirname du echo egrep expand expr factor false fgrep file findmnt fmt fold free
        getconf getfacl grep groups hash head help hexdump htop id iostat join jq last
        locale look ls lsattr lsblk lscpu lsmod lsof lspci lsusb md5sum mpstat netstat nl
        nproc numfmt od paste pgrep pidof pr printf ps pstree pwd
        readlink realpath rev seq sha1sum sha256sum sleep stat strings tac tail
        test top tr true tsort tty type uname unexpand uptime users vmstat w wc
        whatis whereis which who whoami xzcat yes zcat zegrep zgrep
    """,
    "PAGERS": """
        info less man more zless zmore
    """,
    "PROGRAMMED": """
        ag awk dmesg gawk history iconv lastlog mawk mongodump mysqldump nawk pg_dump pg_dumpall
        rg sed shuf sort tree uniq xxd yq
    """,
    "NO_EFFECT": """
        : [ [[ cd declare exit export local popd pushd read readonly return set shift typeset
        ulimit umask unset wait
    """,
    "wrappers alone": """
        builtin command exec nice nohup setsid stdbuf time timeout unbuffer watch
    """,
    "VERSION_FLAGS": """
        apachectl-V apachectl-v consul-v consul-version haproxy-v haproxy-vv httpd-V httpd-v
        java-version nginx-V nginx-v node-v nomad-v nomad-version perl-V perl-v php-v python-V
        python-VV python3-V python3-VV ruby-v ssh-V sshd-V terraform-v terraform-version
        tofu-v tofu-version vault-v vault-version wrangler-v
    """,
    "CONFIG_CHECKS": """
        apachectl+configtest apachectl-S apachectl-t caddy+fmt caddy+validate haproxy-c
        nginx-T nginx-t sshd-T sshd-t
    """,
    "READ_WORDS": """
        about api-resources api-versions audit browse can-i cat check checks cluster-info
        config-view count describe diagnostic diagnostics diff display doctor du dump env
        evaluate events exists explain find get hash head health help history images info
        inspect licenses lint list log logs lookup ls lsd lsf lsjson lsl md5sum metrics
        outdated ping plan port presign preview print ps query quota read receive-message
        report search sha1sum sha256sum show size snapshots stat stats status tail
        test-dns-answer top tree url usage validate verify version view where which who-am-i
        whoami
    """,
    "GIT_READS": """
        annotate archive blame bundle cat-file check-attr check-ignore check-mailmap
        check-ref-format cherry column config count-objects describe diff diff-files
        diff-index diff-tree fetch for-each-ref fsck get-tar-commit-id grep help log ls-files
        ls-remote ls-tree merge-base name-rev range-diff remote request-pull rev-list
        rev-parse shortlog show show-branch show-index show-ref status var verify-commit
        verify-pack verify-tag version whatchanged
    """,
    "GIT_BRANCH_LISTS": """
        --abbrev --all --color --column --contains --format --ignore-case --list --merged
        --no-abbrev --no-color --no-column --no-contains --no-merged --points-at --quiet
        --remotes --show-current --sort --verbose -a -i -l -q -r -v -vv
    """,
    "GIT_REMOTE_READS": """
        get-url show
    """,
    "TF_READS": """
        graph help info metadata modules output-module-groups plan providers show validate
        validate-inputs version
    """,
    "KUBECTL_READS": """
        api-resources api-versions cluster-info describe diff events explain get logs top
        version wait
    """,
    "KUBECTL_CONFIG_READS": """
        current-context get-clusters get-contexts get-users view
    """,
    "KUBECTL_READ_PAIRS": """
        plugin+list rollout+history rollout+status
    """,
    "TF_READ_PAIRS": """
        metadata+functions providers+schema state+list workspace+list workspace+show
    """,
    "DOCKER_READ_PAIRS": """
        builder+du buildx+du buildx+inspect buildx+ls compose+images compose+ls compose+ps
        compose+top compose+version context+show system+df system+events system+info
    """,
    "LINTERS": """
        actionlint golangci-lint+config golangci-lint+formatters golangci-lint+help
        golangci-lint+linters golangci-lint+run golangci-lint+version hadolint ruff+analyze
        ruff+check ruff+help ruff+linter ruff+rule ruff+version shellcheck staticcheck yamllint
    """,
    "HELM_READS": """
        env get history inspect lint list ls search show status template verify version
    """,
    "SYSTEMCTL_READS": """
        cat get-default help is-active is-enabled is-failed is-system-running list-automounts
        list-dependencies list-jobs list-machines list-paths list-sockets list-timers
        list-unit-files list-units show status
    """,
    "SERVICE_READS": """
        status
    """,
    "IP_READS": """
        get help list ls lst monitor sh show
    """,
    "REDIS_READS": """
        bitcount bitpos command dbsize echo exists expiretime geodist geohash geopos geosearch
        get getbit getrange hexists hget hgetall hkeys hlen hmget hscan hstrlen hvals info
        keys lastsave lindex llen lpos lrange mget object pexpiretime pfcount ping pttl pubsub
        role scan scard sismember smembers smismember srandmember sscan strlen time ttl type
        xinfo xlen xpending xrange xrevrange zcard zcount zlexcount zmscore zrange zrangebylex
        zrangebyscore zrank zrevrange zrevrangebyscore zrevrank zscan zscore
    """,
    "npm": """
        access+get access+list audit+signatures bin cache+ls config+get config+list config+ls
        dist-tag+list dist-tag+ls doctor explain find get help help-search info la list ll ls
        org+ls outdated owner+list owner+ls ping pkg+get prefix profile+get query root s se
        search show team+list team+ls token+list v view whoami why
    """,
    "npm alone": """
        audit config dist-tag fund version
    """,
    "yarn": """
        audit bin cache+dir cache+list config+get config+list help info licenses list npm+info
        npm+whoami outdated versions why workspaces+info workspaces+list
    """,
    "yarn alone": """
        config
    """,
    "pnpm": """
        audit bin config+get config+list env+list help info la licenses list ll ls outdated
        root s search show store+path store+status v view why
    """,
    "pnpm alone": """
        config
    """,
    "pip": """
        cache+dir cache+info cache+list check completion config+debug config+get config+list
        debug freeze hash help index+versions inspect list search show
    """,
    "apt": """
        changelog depends dump help list madison pkgnames policy rdepends search show showpkg
        showsrc stats
    """,
    "yum": """
        check check-update deplist group+info group+list help history+info history+list info
        list module+info module+list provides repoinfo repolist repoquery search updateinfo
        whatprovides
    """,
    "yum alone": """
        history
    """,
    "brew": """
        abv bundle+check bundle+list casks cat commands config deps desc doctor dr formulae
        info leaves list log ls missing options outdated search services+info services+list
        shellenv tap-info uses
    """,
    "apk": """
        audit dot info list policy search stats verify version
    """,
    "snap": """
        aliases changes connections find get help info interfaces known list logs search
        services tasks version warnings
    """,
    "gem": """
        contents dependency environment help info list outdated query search spec
        specification which
    """,
    "cargo": """
        help info locate-project metadata pkgid read-manifest report search tree
        verify-project version
    """,
    "poetry": """
        about check env+info env+list help list search self+show show source+show version
    """,
    "uv": """
        cache+dir help pip+check pip+freeze pip+list pip+show pip+tree python+dir python+find
        python+list self+version tool+dir tool+list tree version
    """,
    "pipenv": """
        check graph requirements scripts
    """,
    "pdm": """
        help info list outdated search show venv+list
    """,
    "pdm alone": """
        config
    """,
}


@pytest.mark.parametrize(
    ("command"),
    [
        pytest.param(build(entry), id=f"{table}:{entry}")
        for table, (entries, build) in TABLES.items()
        for entry in sorted(entries)
    ],
)
def test_every_read_only_entry_reads(command: str) -> None:
    effects = analyze(command)
    assert effects
    assert all(e.verb == "read" and not e.flags for e in effects), effects


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_read_only_entry_was_reviewed(table: str) -> None:
    entries = set(TABLES[table][0])
    reviewed = set(REVIEWED.get(table, "").split())
    assert entries == reviewed, (
        f"{table}: not reviewed as read-only: {sorted(entries - reviewed)}; "
        f"reviewed but gone: {sorted(reviewed - entries)}. Check each new entry reads whatever "
        "its arguments, then update REVIEWED in this file."
    )


def test_every_reviewed_table_is_walked() -> None:
    assert set(REVIEWED) == set(TABLES)


#: Programs that run commands or code, open an editor or a shell, or page with `!`: never a
#: plain reader.
ESCAPE_HATCHES = frozenset(
    """
    vi vim view vimdiff rvim nvim ex ed red emacs nano pico joe jed mg micro less more most pg
    man info zless zmore bzless xzless lzless sh bash zsh dash ksh fish ash csh tcsh python
    python2 python3 perl ruby node nodejs php lua luajit irb tclsh wish expect gdb lldb strace
    ltrace awk gawk mawk nawk sed find xargs env nice timeout nohup watch sudo doas su runuser
    chroot setsid stdbuf flock time taskset ionice unbuffer script tmux screen ftp sftp telnet nc
    ncat socat ssh scp rsync tar zip git crontab at batch make dc mysql psql sqlite3 mail mailx
    busybox eval exec source . trap command builtin rg sort
    """.split()
)
#: Subcommands that run code, a program or an editor: never a read-only subcommand.
RUNNING_WORDS = frozenset(
    """
    run exec execute x dlx shell sh console repl eval evalsha fcall edit watch start invoke
    trigger test t script function module plugin instaweb difftool mergetool bisect submodule
    attach debug port-forward proxy foreach
    """.split()
)


@pytest.mark.parametrize("table", ["READERS", "NO_EFFECT"])
def test_no_plain_reader_is_an_escape_hatch(table: str) -> None:
    assert set(TABLES[table][0]) & ESCAPE_HATCHES == set()


@pytest.mark.parametrize(
    "table", sorted(t for t in TABLES if t not in ("READERS", "NO_EFFECT", "PAGERS", "PROGRAMMED",
                                                   "wrappers alone", "VERSION_FLAGS",
                                                   "CONFIG_CHECKS", "GIT_BRANCH_LISTS"))
)  # fmt: skip
def test_no_read_only_subcommand_runs_anything(table: str) -> None:
    actions = {e.split("+")[-1] for e in TABLES[table][0]}  # `config+get`: the action is `get`
    assert actions & RUNNING_WORDS == SAME_SPELLING.get(table, set())


#: Read-only words spelled like a running one: `ip route sh` is ip's `show`, `pip debug`
#: and `pip config debug` print pip's environment and configuration files, and `golangci-lint
#: run` runs the linters over the code, not the code.
SAME_SPELLING = {"IP_READS": {"sh"}, "pip": {"debug"}, "LINTERS": {"run"}}


#: For each parsed reader that is also an escape hatch, the escape: it must not read.
ESCAPES = {
    "less": "less +'!id' notes.txt",
    "more": "more +'!id' notes.txt",
    "zless": "zless '+|sh' notes.gz",
    "zmore": "zmore +'!id' notes.gz",
    "man": "man -P 'sh -c id' ls",
    "info": "info --init-file ./keys ls",
    "awk": "awk 'BEGIN{system(\"id\")}'",
    "gawk": "gawk -l ./evil 'BEGIN{}'",
    "mawk": "mawk '{print | \"sh\"}' notes.txt",
    "nawk": "nawk -f ./prog.awk notes.txt",
    "sed": "sed 'e id' notes.txt",
    "rg": "rg --pre ./run.sh secret",
    "sort": "sort --compress-program=sh notes.txt",
}


def test_every_parsed_escape_hatch_has_its_escape_tested() -> None:
    parsed = (readers.PAGERS | readers.PROGRAMMED) & ESCAPE_HATCHES
    assert parsed == set(ESCAPES)


@pytest.mark.parametrize("program", sorted(ESCAPES))
def test_a_parsed_reader_given_its_escape_does_not_read(program: str) -> None:
    effects = analyze(ESCAPES[program])
    assert not any(e.verb == "read" and not e.flags for e in effects), effects


_KEYWORDS = frozenset(
    "if then else elif fi case esac for select while until do done in function time coproc".split()
)
UNKNOWN_WORDS = st.from_regex(r"[a-z][a-z0-9]{2,9}(-[a-z0-9]{1,5})?", fullmatch=True).filter(
    lambda w: w not in commands.KNOWN_COMMANDS and w not in _KEYWORDS and not w.startswith("mk")
)
#: Arguments with no word in them: paths, numbers, values, short flags.
JUNK = st.one_of(
    st.from_regex(r"[0-9./_:@%+=,]{1,12}", fullmatch=True),
    st.from_regex(r"/[a-z0-9/._-]{1,12}", fullmatch=True),
    st.from_regex(r"-[a-zA-Z0-9]{1,3}", fullmatch=True),
)
ANY_ARGUMENT = st.one_of(
    JUNK,
    st.from_regex(r"--?[a-z][a-z-]{0,10}(=[a-z0-9]{1,5})?", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True),
    st.sampled_from(sorted(vocabulary.READ_WORDS | {"delete", "apply", "create", "--help"})),
)


def _line(word: str, args: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in [word, *args])


@settings(max_examples=300, deadline=None)
@given(UNKNOWN_WORDS, st.lists(JUNK, max_size=6))
def test_an_unknown_command_with_arbitrary_arguments_is_never_read(
    word: str, args: list[str]
) -> None:
    effects = analyze(_line(word, args))
    assert not any(e.verb == "read" for e in effects), effects


@settings(max_examples=300, deadline=None)
@given(UNKNOWN_WORDS, st.lists(ANY_ARGUMENT, max_size=6))
def test_an_unknown_command_reads_only_when_a_read_word_says_so(word: str, args: list[str]) -> None:
    effects = analyze(_line(word, args))
    if any(e.verb == "read" for e in effects):
        said = vocabulary.asks_for_help(args) or (
            vocabulary.verb_of(vocabulary.words_of(args, 5), args) == "read"
        )
        assert said, effects
