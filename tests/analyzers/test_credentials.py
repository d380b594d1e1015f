"""Credential paths are recognised however the line names them (``credential_access``).

Each row was read as an ordinary file, so production let it through: the flags were computed
on the word as written (``cd /etc && cat shadow``), a path through ``$HOME`` was unknown, a
reader's pattern stood for its file (``grep root /etc/shadow``), only the first operand was
looked at, letter case hid the file on a case-insensitive disk, and a path given to a program
without a table (``tar``, ``python3 x.py``) or through ``<`` was never looked at.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.analyzers.paths import (
    CREDENTIAL_FILES,
    SECRET_PATHS,
    names_credential_file,
    path_flags,
)
from watchkeeper.analyzers.shell import analyze
from watchkeeper.gateway import Gateway
from watchkeeper.orders.loader import builtin

GATEWAY = Gateway(builtin())


def decide(command: str, env: str, **extra: str) -> tuple[str, tuple[str, ...]]:
    d = GATEWAY.decide(
        {"tool": "shell", "environment": env, "input": {"command": command, **extra}}
    )
    return d.decision, d.rules


def flagged(command: str, **kwargs: str) -> bool:
    return any("credential_access" in e.flags for e in analyze(command, **kwargs))


def targets(command: str) -> dict[str | None, bool]:
    """Each file read, and whether it is flagged."""
    return {
        e.target.id: "credential_access" in e.flags
        for e in analyze(command)
        if e.verb == "read" and e.target.kind == "file"
    }


CREDENTIAL_READS = [
    # Resolved under the directory the line moved to.
    pytest.param("cd /etc && cat shadow", id="cd-then-relative"),
    pytest.param("cd /etc; cat ./shadow", id="cd-then-dot-relative"),
    pytest.param("cd /etc/ssl && cat private/site.key", id="cd-then-subdirectory"),
    pytest.param("cd ~/.aws && cat credentials", id="cd-home-then-relative"),
    pytest.param("cd && cat .aws/credentials", id="cd-alone-is-home"),
    pytest.param("cd .ssh && cat id_rsa", id="cd-relative-then-relative"),
    pytest.param("pushd /etc && cat shadow", id="pushd"),
    pytest.param("cd /etc && grep root shadow", id="cd-then-grep"),
    pytest.param("cd /etc; (cd /tmp); cat shadow", id="subshell-cd-does-not-leak"),
    pytest.param('cd "$X" && cat shadow', id="cd-somewhere-unknown"),
    pytest.param("cd /etc && bash -c 'cat shadow'", id="cd-then-nested-shell"),
    pytest.param("cd /etc && cat < shadow", id="cd-then-input-redirection"),
    # The home directory, however it is written.
    pytest.param("cat $HOME/.aws/credentials", id="dollar-home"),
    pytest.param('cat "${HOME}/.ssh/id_rsa"', id="braced-home-quoted"),
    pytest.param("cat ~user/.aws/credentials", id="tilde-user"),
    pytest.param("cat /home/me/.aws/credentials", id="home-absolute"),
    pytest.param("cat /Users/me/.ssh/id_ed25519", id="macos-home"),
    pytest.param('cat "$D/.aws/credentials"', id="unknown-directory-variable"),
    # Letter case: one file on a case-insensitive disk.
    pytest.param("cat ~/.AWS/credentials", id="upper-aws"),
    pytest.param("cat ~/.ssh/ID_RSA", id="upper-key"),
    pytest.param("cat /ETC/SHADOW", id="upper-shadow"),
    pytest.param("less ~/.Kube/Config", id="mixed-kube"),
    # Readers that take a pattern, program or filter first: the file is after it.
    pytest.param("grep root /etc/shadow", id="grep-pattern-first"),
    pytest.param("grep -e root /etc/shadow", id="grep-e"),
    pytest.param("egrep 'a|b' /etc/shadow", id="egrep"),
    pytest.param("zgrep x /etc/shadow", id="zgrep"),
    pytest.param("rg key ~/.aws/credentials", id="rg"),
    pytest.param("ag key ~/.aws/credentials", id="ag"),
    pytest.param("awk -F: '{print $2}' /etc/shadow", id="awk"),
    pytest.param("sed -n -e 1p -e 2p /etc/shadow", id="sed-scripts"),
    pytest.param("jq .auths ~/.docker/config.json", id="jq"),
    pytest.param("yq .users ~/.kube/config", id="yq"),
    pytest.param("head -n 1 /etc/shadow", id="head-valued-option"),
    pytest.param("grep --file=/etc/shadow x", id="option-value"),
    pytest.param("jq -n --rawfile k ~/.ssh/id_rsa '$k'", id="jq-rawfile"),
    # Every operand, not only the first.
    pytest.param("cat /tmp/x /etc/shadow", id="second-operand"),
    pytest.param("diff /tmp/a ~/.aws/credentials", id="diff-second"),
    # Globs and directories that hold credentials.
    pytest.param("cat ~/.aws/*", id="glob-in-aws"),
    pytest.param("cat ~/.ssh/id*", id="glob-key"),
    pytest.param("cat /etc/sha*", id="glob-shadow"),
    pytest.param("cat ~/.*", id="glob-dotfiles"),
    pytest.param("tar czf - ~/.ssh", id="tar-ssh-directory"),
    pytest.param("zip -r /tmp/a.zip ~/.aws", id="zip-aws-directory"),
    pytest.param("cp -r ~/.gnupg /tmp/g", id="copy-gnupg"),
    pytest.param("grep -r key ~/.config/gcloud", id="grep-recursive-gcloud"),
    # Programs without a table, and input redirection.
    pytest.param("python3 upload.py ~/.aws/credentials", id="script-argument"),
    pytest.param("gpg -c ~/.ssh/id_rsa", id="unknown-tool"),
    pytest.param("openssl enc -base64 -in ~/.ssh/id_rsa", id="openssl-in"),
    pytest.param("dd if=/etc/shadow of=/tmp/x", id="dd-if"),
    pytest.param("wc -l < /etc/shadow", id="input-redirection"),
    pytest.param("while read l; do echo $l; done < ~/.netrc", id="loop-input-redirection"),
    pytest.param("rsync ~/.ssh/id_rsa /tmp/k", id="rsync-source"),
    pytest.param("find ~ -name id_rsa -exec cat {} +", id="find-by-name"),
    pytest.param("find / -iname 'credentials' | xargs cat", id="find-iname"),
]


@pytest.mark.parametrize("command", CREDENTIAL_READS)
def test_a_credential_path_is_flagged_however_it_is_written(command: str) -> None:
    assert flagged(command), analyze(command)


@pytest.mark.parametrize("command", CREDENTIAL_READS)
def test_a_credential_read_asks_in_production(command: str) -> None:
    decision, rules = decide(command, "prod")
    assert decision == "ask", rules
    assert "prod-credential-reads-ask" in rules


@pytest.mark.parametrize(
    ("command", "cwd"),
    [
        pytest.param("cat shadow", "/etc", id="cat"),
        pytest.param("grep root shadow", "/etc", id="grep"),
        pytest.param("cat credentials", "/home/me/.aws", id="home"),
        pytest.param("cat ../.aws/credentials", "/home/me/src", id="parent"),
    ],
)
def test_a_relative_path_is_flagged_under_the_actions_directory(command: str, cwd: str) -> None:
    assert flagged(command, cwd=cwd)
    assert decide(command, "prod", cwd=cwd)[0] == "ask"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("grep root /etc/shadow", {"/etc/shadow": True}, id="grep"),
        pytest.param("grep -c -e root -- /etc/shadow", {"/etc/shadow": True}, id="grep-e"),
        pytest.param("rg -g '*.py' key /srv", {"/srv": False}, id="rg-glob-option"),
        pytest.param(
            "awk '{print}' /etc/shadow /tmp/x", {"/etc/shadow": True, "/tmp/x": False}, id="awk"
        ),
        pytest.param("jq -r .a /tmp/a.json", {"/tmp/a.json": False}, id="jq"),
        pytest.param("head -n 5 /etc/shadow", {"/etc/shadow": True}, id="head-n"),
        pytest.param(
            "cat /etc/shadow /tmp/x", {"/etc/shadow": True, "/tmp/x": False}, id="cat-two"
        ),
        pytest.param(
            "cat /tmp/x /etc/shadow", {"/tmp/x": False, "/etc/shadow": True}, id="cat-two-reversed"
        ),
        pytest.param("cd /etc && cat shadow", {"/etc/shadow": True}, id="cd"),
        pytest.param("grep x", {None: False}, id="stdin"),
        pytest.param("yq e .users ~/.kube/config", {"~/.kube/config": True}, id="yq-eval"),
        pytest.param("bc ~/.netrc", {"~/.netrc": True}, id="bc-reads-files"),
    ],
)
def test_each_file_a_reader_reads_is_its_own_target(
    command: str, expected: dict[str | None, bool]
) -> None:
    assert targets(command) == expected


NOT_CREDENTIALS = [
    pytest.param("cat config", id="a-config-here"),
    pytest.param("jq . *.json", id="json-here"),
    pytest.param("grep -r TODO .", id="grep-here"),
    pytest.param("cat *", id="everything-here"),
    pytest.param("ls ~/.ssh", id="list-ssh"),
    pytest.param("mkdir -p ~/.aws", id="make-aws"),
    pytest.param("cd ~/.ssh", id="cd-only"),
    pytest.param("cat ~/*", id="home-without-dotfiles"),
    pytest.param('cat "$DIR/config"', id="unknown-directory-config"),
    pytest.param("cd /etc && cat hosts", id="cd-etc-hosts"),
    pytest.param("ssh -i ~/.ssh/id_ed25519 web-1 uptime", id="ssh-identity"),
    pytest.param("kubectl --kubeconfig ~/.kube/config get pods", id="kubeconfig-option"),
    pytest.param("curl --cert ~/.ssh/client.key https://api.example.com", id="curl-client-cert"),
    pytest.param("grep -rn password src/", id="grep-the-word-password"),
    pytest.param("rsync -av ./ deploy@web-1:/srv/app", id="deploy"),
    pytest.param("tar czf site.tgz public", id="archive-here"),
    pytest.param("cut -d '/' -f 2 urls.txt", id="a-slash-is-not-the-root"),
    pytest.param("awk '$0 ~ /HWaddr/ { print $5 }' out.txt", id="a-regex-is-not-a-path"),
    pytest.param("gcloud logging logs list --sort-by=field1,~field2", id="a-tilde-in-a-value"),
    pytest.param("sudo find / -name file.txt", id="find-from-the-root"),
    pytest.param('find . -type f -name "t*" -exec ls -l {} +', id="find-short-glob"),
    pytest.param("find . ! -path './.git*'", id="find-negated"),
    pytest.param("stat -c %n t*", id="short-glob-here"),
    pytest.param("terraform show terraform.tfstate", id="terraform-show-redacts"),
    pytest.param("ssh -o IdentityFile=~/.ssh/deploy_key web-1 uptime", id="ssh-identity-option"),
    pytest.param("echo ~/.aws/credentials", id="echo-prints-a-path"),
]


@pytest.mark.parametrize("command", NOT_CREDENTIALS)
def test_what_names_no_credential_is_not_flagged(command: str) -> None:
    assert not flagged(command), analyze(command)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("~/.AWS/Credentials", True, id="case"),
        pytest.param("$HOME/.netrc", True, id="dollar-home"),
        pytest.param("${HOME}/.pgpass", True, id="braced-home"),
        pytest.param("~bob/.ssh/id_rsa", True, id="tilde-user"),
        pytest.param("/root/.docker/config.json", True, id="root-home"),
        pytest.param("/proc/1/environ", True, id="process-environment"),
        pytest.param("/proc/self/environ", True, id="own-environment"),
        pytest.param("~/.vault-token", True, id="vault-token"),
        pytest.param("~/.config/gh/hosts.yml", True, id="github-cli"),
        pytest.param("/etc/passwd", False, id="passwd"),
        pytest.param("~/.ssh/known_hosts", False, id="known-hosts"),
        pytest.param("~/.aws", False, id="directory-alone"),
        pytest.param("/etc/[[:alpha:]]hadow", True, id="posix-class"),
        pytest.param("/etc/sh[a-c]dow", True, id="bracket-range"),
        pytest.param("/etc/sh[!x]dow", True, id="bracket-negated"),
        pytest.param("/etc/sh[!a]dow", False, id="bracket-negated-excludes-it"),
        pytest.param("/etc/[!]shadow", False, id="an-empty-negated-set-is-a-bracket"),
    ],
)
def test_path_flags_match_credentials_as_the_filesystem_would(path: str, expected: bool) -> None:
    assert ("credential_access" in path_flags(path)) is expected


def test_a_file_tool_reading_credentials_in_another_case_asks_in_production() -> None:
    d = GATEWAY.decide(
        {
            "tool": "Read",
            "environment": "prod",
            "input": {"file_path": "/Users/me/.AWS/credentials"},
        }
    )
    assert (d.decision, d.rules) == ("ask", ("prod-credential-reads-ask",))


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("cd /etc && cat shadow", id="cd"),
        pytest.param("cat $HOME/.aws/credentials", id="home"),
        pytest.param("grep root /etc/shadow", id="grep"),
        pytest.param("cat ~/.AWS/credentials", id="case"),
        pytest.param("cat /tmp/x /etc/shadow", id="second"),
    ],
)
def test_a_developer_reads_their_own_credentials_in_dev(command: str) -> None:
    assert decide(command, "dev")[0] == "allow"


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        pytest.param("cd ~/.watchkeeper && rm -rf keys", "guard_tamper", id="guard-after-cd"),
        pytest.param(
            "cd ~/.ssh && echo k >> authorized_keys", "privileged", id="start-up-after-cd"
        ),
        pytest.param("cd ~/.ssh; cp /tmp/k authorized_keys", "privileged", id="copy-after-cd"),
    ],
)
def test_writes_are_judged_where_the_line_moved_to(command: str, flag: str) -> None:
    assert any(flag in e.flags for e in analyze(command)), analyze(command)


def test_tampering_with_watchkeeper_after_cd_is_denied() -> None:
    decision, rules = decide("cd ~/.watchkeeper && rm -rf keys", "dev")
    assert (decision, rules[0]) == ("deny", "no-guard-tamper")


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="/~.*?[]!^-:&|abcdeHOMEsh${}\\_ ", max_size=30))
def test_any_word_is_judged_without_failing(word: str) -> None:
    # Globs and paths of any shape: a warning or an error here would fail every decision.
    path_flags(word)
    path_flags(word, "/etc", tree=True)
    names_credential_file(word)


@pytest.mark.parametrize("example", CREDENTIAL_FILES)
def test_every_example_credential_is_one_by_its_pattern(example: str) -> None:
    # Globs and directories are judged against these examples: each must be a credential.
    assert SECRET_PATHS.search(example)
