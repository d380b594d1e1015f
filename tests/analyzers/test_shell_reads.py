"""A read is a positive finding: a table entry or a parse says so, never what is left over.

Each command here was a read before, and allowed in production: a handler looked for the words
it knew, found none, and fell back to ``read``. Now a command nothing positively describes as
reading is a change, a run or ``unknown``, which production holds.
"""

from __future__ import annotations

import pytest

from watchkeeper.analyzers.shell import analyze
from watchkeeper.gateway import Gateway
from watchkeeper.models import Effect
from watchkeeper.orders.loader import builtin

GATEWAY = Gateway(builtin())


def decide(command: str, env: str) -> str:
    action = {"tool": "shell", "environment": env, "input": {"command": command}}
    return GATEWAY.decide(action).decision


def found(command: str) -> set[tuple[str, str]]:
    return {(e.verb, e.target.kind) for e in analyze(command)}


def reads(effects: list[Effect]) -> bool:
    return any(e.verb == "read" for e in effects)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("reboot", id="reboot"),
        pytest.param("sudo reboot", id="sudo-reboot"),
        pytest.param("shutdown -h now", id="shutdown-halt"),
        pytest.param("shutdown -r now", id="shutdown-reboot"),
        pytest.param("shutdown -P +5", id="shutdown-later"),
        pytest.param("poweroff", id="poweroff"),
        pytest.param("halt -p", id="halt"),
        pytest.param("init 0", id="init-0"),
        pytest.param("telinit 6", id="telinit-6"),
        pytest.param("systemctl reboot", id="systemctl-reboot"),
        pytest.param("systemctl isolate rescue.target", id="systemctl-isolate"),
        pytest.param("systemctl -i poweroff", id="systemctl-flag-first"),
    ],
)
def test_reboot_is_not_a_read(command: str) -> None:
    effects = analyze(command)
    assert not reads(effects), effects
    [power] = effects
    assert (power.verb, power.target.kind, power.scope) == ("update", "host", "all")
    assert power.reversible == "no"
    assert "privileged" in power.flags


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("npm publish", id="npm"),
        pytest.param("npm publish ./pkg --access public", id="npm-path"),
        pytest.param("gem push foo-1.0.gem", id="gem-push"),
        pytest.param("cargo publish", id="cargo"),
        pytest.param("cargo +nightly publish --allow-dirty", id="cargo-toolchain"),
        pytest.param("yarn publish", id="yarn"),
        pytest.param("yarn npm publish", id="yarn-berry"),
        pytest.param("pnpm publish -r", id="pnpm"),
    ],
)
def test_publishing_a_package_is_not_a_read(command: str) -> None:
    effects = analyze(command)
    assert not reads(effects), effects
    [sent] = effects
    assert (sent.verb, sent.target.kind, sent.reversible) == ("send", "cloud_resource", "no")
    assert "egress" in sent.flags


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("less +'!CMD' FILE", id="less-bang"),
        pytest.param("less +!id /etc/hosts", id="less-bang-unquoted"),
        pytest.param("less '+|sh' notes.txt", id="less-pipe"),
        pytest.param("less ++v notes.txt", id="less-editor-every-file"),
        pytest.param("less $'+/x\\n!id' notes.txt", id="less-search-then-bang"),
        pytest.param("less -k ./keys notes.txt", id="less-lesskey-file"),
        pytest.param("less --lesskey-src=./keys notes.txt", id="less-lesskey-src"),
        pytest.param("more +'!id' notes.txt", id="more-bang"),
        pytest.param("zless +'!id' notes.gz", id="zless-bang"),
        pytest.param("man -P 'rm -rf /srv' ls", id="man-pager"),
        pytest.param("man --pager=sh ls", id="man-pager-long"),
        pytest.param("man -Hfirefox ls", id="man-html-browser"),
        pytest.param("man -C ./man.conf ls", id="man-config-file"),
        pytest.param("info --init-file ./keys ls", id="info-init-file"),
        pytest.param("MANOPT='-P id' man ls", id="manopt"),
        pytest.param("LESS='+!id' git log", id="less-variable"),
    ],
)
def test_pagers_given_commands_are_not_reads(command: str) -> None:
    effects = analyze(command)
    assert "dynamic" in {f for e in effects for f in e.flags}, effects
    assert decide(command, "prod") != "allow"


@pytest.mark.parametrize(
    ("command", "target"),
    [
        pytest.param("less -o /etc/passwd notes.txt", "/etc/passwd", id="less-log-file"),
        pytest.param("less -O/etc/passwd notes.txt", "/etc/passwd", id="less-log-attached"),
        pytest.param("less --log-f=/etc/passwd notes.txt", "/etc/passwd", id="less-abbreviated"),
        pytest.param("info -o /etc/passwd ls", "/etc/passwd", id="info-output"),
        pytest.param("tree -o /etc/passwd", "/etc/passwd", id="tree-output"),
        pytest.param("history -w /etc/passwd", "/etc/passwd", id="history-write"),
        pytest.param("mongodump", "dump", id="mongodump-default-directory"),
        pytest.param("pg_dump -f/srv/prod/db.sql app", "/srv/prod/db.sql", id="pg-dump-attached"),
        pytest.param("sort -o/etc/passwd x", "/etc/passwd", id="sort-attached"),
        pytest.param("curl -D /etc/passwd https://x.example", "/etc/passwd", id="curl-headers"),
        pytest.param("curl -c ~/.bashrc https://x.example", "~/.bashrc", id="curl-cookie-jar"),
        pytest.param("redis-cli --rdb /srv/prod/x.rdb", "/srv/prod/x.rdb", id="redis-rdb"),
    ],
)
def test_readers_that_write_a_file_are_not_reads(command: str, target: str) -> None:
    assert ("overwrite", "file", target) in {
        (e.verb, e.target.kind, e.target.id) for e in analyze(command)
    }


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("rg --pre ./run.sh secret", id="rg-pre"),
        pytest.param("sort --compress-program=sh big.txt", id="sort-compress-program"),
        pytest.param("gawk -l ./evil 'BEGIN{}'", id="gawk-load"),
        pytest.param("awk '@load \"./evil\"; BEGIN{}'", id="awk-load-directive"),
        pytest.param("gawk 'BEGIN { \"id\" |& getline x }'", id="gawk-coprocess"),
        pytest.param("RIPGREP_CONFIG_PATH=./rc rg x", id="ripgrep-config"),
        pytest.param("curl -K ./curlrc https://x.example", id="curl-config"),
        pytest.param("wget -e 'output_document=/etc/passwd' https://x.example", id="wget-execute"),
        pytest.param("KUBECTL_EXTERNAL_DIFF=./x kubectl diff -f a.yaml", id="kubectl-diff-program"),
    ],
)
def test_readers_that_run_a_program_are_not_reads(command: str) -> None:
    assert "dynamic" in {f for e in analyze(command) for f in e.flags}, analyze(command)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("npm run build", ("execute", "process"), id="npm-run"),
        pytest.param("npm test", ("execute", "process"), id="npm-test"),
        pytest.param("npm exec some-tool", ("execute", "process"), id="npm-exec"),
        pytest.param("npm start", ("execute", "process"), id="npm-start"),
        pytest.param("yarn build", ("execute", "process"), id="yarn-script"),
        pytest.param("yarn dlx create-app", ("execute", "process"), id="yarn-dlx"),
        pytest.param("pnpm lint", ("execute", "process"), id="pnpm-script"),
        pytest.param("cargo run", ("execute", "process"), id="cargo-run"),
        pytest.param("cargo test", ("execute", "process"), id="cargo-test"),
        pytest.param("cargo watch -x test", ("execute", "process"), id="cargo-external"),
        pytest.param("gem build x.gemspec", ("execute", "process"), id="gem-build-runs-ruby"),
        pytest.param("brew sh", ("execute", "process"), id="brew-sh"),
        pytest.param("snap run vlc", ("execute", "process"), id="snap-run"),
        pytest.param("cargo build --release", ("create", "directory"), id="cargo-build"),
        pytest.param("npm version patch", ("update", "host"), id="npm-version-bump"),
        pytest.param("npm audit fix", ("update", "host"), id="npm-audit-fix"),
        pytest.param("npm config set registry x", ("update", "host"), id="npm-config-set"),
        pytest.param("pip config set global.index-url x", ("update", "host"), id="pip-config-set"),
        pytest.param("brew services start nginx", ("execute", "process"), id="brew-external"),
        pytest.param("pacman -S nginx", ("update", "host"), id="pacman-sync"),
        pytest.param("pacman -Syu", ("update", "host"), id="pacman-upgrade"),
        pytest.param("npm unpublish pkg@1.0.0", ("delete", "cloud_resource"), id="npm-unpublish"),
        pytest.param("gem yank foo -v 1.0", ("delete", "cloud_resource"), id="gem-yank"),
        pytest.param("npm owner add bob pkg", ("update", "cloud_resource"), id="npm-owner"),
        pytest.param("npm frobnicate", ("update", "host"), id="unknown-subcommand"),
    ],
)
def test_package_managers_read_only_when_their_record_says_so(
    command: str, expected: tuple[str, str]
) -> None:
    # An install is also the execution of its packages' scripts (test_installs.py).
    assert found(command) - {("execute", "process")} == {expected} - {("execute", "process")}
    assert expected in found(command)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("systemctl start evil.service", ("update", "process"), id="start"),
        pytest.param("systemctl enable --now x", ("update", "process"), id="enable"),
        pytest.param("systemctl daemon-reload", ("update", "process"), id="daemon-reload"),
        pytest.param("systemctl edit nginx", ("update", "process"), id="edit"),
        pytest.param("systemctl link /tmp/evil.service", ("update", "process"), id="link"),
        pytest.param("systemctl clean --what=all x", ("delete", "directory"), id="clean"),
        pytest.param("service nginx start", ("update", "process"), id="service-start"),
        pytest.param("service nginx", ("update", "process"), id="service-no-action"),
        pytest.param("ip netns exec blue rm -rf /srv", ("delete", "directory"), id="ip-netns-exec"),
        pytest.param("ip xfrm state deleteall", ("update", "host"), id="ip-deleteall"),
        pytest.param("ip route restore", ("update", "host"), id="ip-restore"),
        pytest.param("ip a d 10.0.0.1/24 dev eth0", ("update", "host"), id="ip-abbreviated"),
        pytest.param("ip link s eth0 down", ("update", "host"), id="ip-s-is-set"),
        pytest.param("ip -batch ./cmds", ("unknown", "process"), id="ip-batch"),
        pytest.param("hostname -F /etc/x", ("update", "host"), id="hostname-from-file"),
        pytest.param("hostname -b evil", ("update", "host"), id="hostname-boot"),
        pytest.param("date 010100002030", ("update", "host"), id="date-positional"),
        pytest.param("ifconfig eth0 -promisc", ("update", "host"), id="ifconfig-minus-setting"),
        pytest.param("ss -D /tmp/raw", ("unknown", "process"), id="ss-diag-file"),
        pytest.param("lastlog -C -u root", ("update", "host"), id="lastlog-clear"),
        pytest.param("dmesg -n 1", ("update", "host"), id="dmesg-console-level"),
    ],
)
def test_host_tools_read_only_when_their_words_show(
    command: str, expected: tuple[str, str]
) -> None:
    assert found(command) == {expected}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("sudo -s", ("execute", "process"), id="sudo-shell"),
        pytest.param("sudo -i", ("execute", "process"), id="sudo-login"),
        pytest.param("sudo -iu postgres", ("execute", "process"), id="sudo-bundle"),
        pytest.param("chroot /mnt", ("execute", "process"), id="chroot-shell"),
        pytest.param("su - postgres", ("execute", "process"), id="su-session"),
        pytest.param("su -c 'rm -rf /srv' root", ("delete", "directory"), id="su-c"),
        pytest.param("ionice -c 3 -p 1234", ("update", "process"), id="ionice-changes"),
        pytest.param("psql -h db", ("unknown", "process"), id="psql-session"),
        pytest.param("psql -h db -f drop.sql", ("unknown", "process"), id="psql-file"),
        pytest.param("mysql app < drop.sql", ("unknown", "process"), id="mysql-redirect"),
        pytest.param('psql -c "$Q" app', ("unknown", "process"), id="psql-computed-sql"),
        pytest.param("redis-cli SET k v", ("update", "db_rows"), id="redis-set"),
        pytest.param("redis-cli EVAL 'return 1' 0", ("execute", "process"), id="redis-eval"),
        pytest.param("redis-cli MODULE LOAD /tmp/x.so", ("execute", "process"), id="redis-module"),
        pytest.param("redis-cli -h prod SHUTDOWN", ("update", "db_rows"), id="redis-shutdown"),
        pytest.param("redis-cli", ("unknown", "process"), id="redis-session"),
        pytest.param("python -v", ("unknown", "process"), id="python-verbose-reads-stdin"),
        pytest.param("kong -v", ("unknown", "process"), id="kong-verbose-is-no-version"),
        pytest.param("nginx -t -c /tmp/x.conf", ("unknown", "process"), id="nginx-other-config"),
        pytest.param("nginx -t -g 'load_module x.so;'", ("unknown", "process"), id="nginx-g"),
        pytest.param("bash < script.sh", ("unknown", "process"), id="shell-from-a-file"),
        pytest.param('bash "$f"', ("unknown", "process"), id="shell-computed-script"),
    ],
)
def test_sessions_and_runners_are_not_reads(command: str, expected: tuple[str, str]) -> None:
    # `< file` is also a read of that file; what runs it is not.
    assert found(command) - {("read", "file")} == {expected}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("git clean -i", ("delete", "file"), id="git-clean-interactive"),
        pytest.param("git remote remove origin", ("update", "git_ref"), id="git-remote-remove"),
        pytest.param("git remote prune origin", ("update", "git_ref"), id="git-remote-prune"),
        pytest.param("git config -e", ("update", "git_ref"), id="git-config-edit"),
        pytest.param("git config edit", ("update", "git_ref"), id="git-config-edit-subcommand"),
        pytest.param("git branch --unset-upstream", ("update", "git_ref"), id="git-branch-unset"),
        pytest.param("git branch --edit-description", ("update", "git_ref"), id="git-branch-edit"),
        pytest.param("git instaweb", ("update", "git_ref"), id="git-instaweb"),
        pytest.param("git format-patch -3", ("create", "file"), id="git-format-patch"),
        pytest.param("git fetch origin main:main", ("update", "git_ref"), id="git-fetch-refspec"),
        pytest.param("terraform fmt -recursive", ("update", "directory"), id="terraform-fmt"),
        pytest.param("terraform get", ("create", "directory"), id="terraform-get"),
        pytest.param("terraform login", ("update", "secret"), id="terraform-login"),
        pytest.param("terraform console", ("read", "secret"), id="terraform-console-secrets"),
        pytest.param("kubectx -", ("update", "k8s_resource"), id="kubectx-previous"),
        pytest.param("kubectx -d prod", ("delete", "k8s_resource"), id="kubectx-delete"),
        pytest.param("kubectl config set-context x", ("update", "k8s_resource"), id="kube-config"),
        pytest.param("kubectl config view --raw", ("read", "secret"), id="kube-config-raw"),
        pytest.param("kubectl get cm,secret -o yaml", ("read", "secret"), id="kubectl-secret-list"),
        pytest.param("kubectl auth reconcile -f r.yaml", ("grant", "k8s_resource"), id="reconcile"),
        pytest.param("helm repo add x https://x.ex", ("update", "k8s_resource"), id="helm-repo"),
        pytest.param("helm plugin install https://x", ("update", "k8s_resource"), id="helm-plugin"),
        pytest.param("helm test web", ("update", "k8s_resource"), id="helm-test-runs-pods"),
        pytest.param("helm diff upgrade web .", ("execute", "process"), id="helm-plugin-command"),
        pytest.param("docker buildx build --push .", ("update", "process"), id="buildx-push"),
        pytest.param("ruff check --fix src", ("update", "file"), id="fix-flag"),
        pytest.param("consul watch -type=key ./handler.sh", ("unknown", "process"), id="watch"),
        pytest.param("aws ecr get-login-password", ("read", "secret"), id="registry-password"),
        pytest.param("gcloud auth print-access-token", ("read", "secret"), id="access-token"),
    ],
)
def test_infrastructure_subcommands_read_only_when_a_table_says_so(
    command: str, expected: tuple[str, str]
) -> None:
    assert expected in found(command), analyze(command)
    if expected[0] == "read":
        assert all("credential_access" in e.flags for e in analyze(command))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param('parallel rm ::: "$X"', ("unknown", "process"), id="parallel-computed"),
        pytest.param(
            'docker exec web sh -c "$X"', ("unknown", "process"), id="docker-exec-computed"
        ),
        pytest.param('kubectl exec web -- sh -c "$X"', ("unknown", "process"), id="kubectl-exec"),
        pytest.param("bq query 'DELETE FROM d.t WHERE true'", ("delete", "db_rows"), id="bq-query"),
        pytest.param('bq query "$Q"', ("unknown", "process"), id="bq-query-computed"),
        pytest.param("bq query", ("unknown", "process"), id="bq-query-from-stdin"),
        pytest.param("caffeinate", ("unknown", "process"), id="wrapper-alone-unknown"),
        pytest.param("sudo -usomeone -s", ("execute", "process"), id="sudo-attached-value"),
        pytest.param("su --command='shred /x' root", ("delete", "file"), id="su-command-long"),
        pytest.param("caddy fmt --overwrite", ("update", "file"), id="caddy-fmt-overwrite"),
        pytest.param("less -o", ("unknown", "process"), id="less-log-without-file"),
        pytest.param(
            'curl --trace "$F" https://x.example', ("unknown", "process"), id="curl-trace"
        ),
        pytest.param("redis-cli --eval ./x.lua", ("unknown", "process"), id="redis-eval-file"),
        pytest.param("helm create web", ("create", "file"), id="helm-create"),
        pytest.param("terraform providers lock", ("update", "file"), id="terraform-lock"),
        pytest.param("terraform plan -out=tf.plan", ("overwrite", "file"), id="terraform-plan-out"),
        pytest.param("kubectx prod-eu", ("update", "k8s_resource"), id="kubectx-switch"),
    ],
)
def test_more_positive_findings(command: str, expected: tuple[str, str]) -> None:
    assert expected in found(command), analyze(command)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("parallel echo :::", id="parallel-nothing-to-run"),
        pytest.param("source", id="source-without-a-file"),
        pytest.param("systemctl -t service list-units", id="systemctl-valued-option"),
        pytest.param("git clean -n", id="git-clean-dry-run"),
        pytest.param("git config get user.name", id="git-config-get-subcommand"),
        pytest.param("kubectx", id="kubectx-lists"),
        pytest.param("less -- +!id", id="after-double-dash-a-file"),
        pytest.param("pacman -h", id="pacman-help"),
        pytest.param("ip -n blue addr show", id="ip-valued-option"),
    ],
)
def test_positive_reads(command: str) -> None:
    assert {e.verb for e in analyze(command)} == {"read"}, analyze(command)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("cat <<EOF && rm -rf /srv\nhi\nEOF", ("delete", "directory"), id="and-list"),
        pytest.param("cat <<EOF > /etc/passwd\nx\nEOF", ("overwrite", "file"), id="redirect"),
        pytest.param(
            "cat <<EOF >> ~/.ssh/authorized_keys\nssh-rsa AAA\nEOF", ("update", "file"), id="append"
        ),
        pytest.param(
            "cat <<'EOF' > run.sh\nrm -rf /srv\nEOF\nbash run.sh",
            ("delete", "directory"),
            id="written-then-run",
        ),
        pytest.param("cat <<EOF | sudo sh\nrm -rf /srv\nEOF", ("unknown", "process"), id="piped"),
    ],
)
def test_what_follows_a_heredoc_on_its_line_is_seen(
    command: str, expected: tuple[str, str]
) -> None:
    # The grammar hangs `| sh`, `&& cmd` and `> file` on the heredoc's operator: they were
    # never walked, and the line read as `cat`.
    assert expected in found(command), analyze(command)
    assert decide(command, "prod") != "allow"


#: Every command the review listed as read and allowed in production.
REVIEWED = [
    "reboot",
    "sudo reboot",
    "shutdown -h now",
    "shutdown -r now",
    "npm publish",
    "gem push foo.gem",
    "cargo publish",
    "less +'!CMD' FILE",
]


@pytest.mark.parametrize("command", REVIEWED)
def test_the_reviewed_commands_are_held_in_production(command: str) -> None:
    assert decide(command, "prod") in ("ask", "deny")


# What follows was right before and must stay so: reads a table names are free in production.
@pytest.mark.parametrize(
    ("command", "decision"),
    [
        pytest.param("systemctl status nginx", "allow", id="systemctl-status"),
        pytest.param("systemctl", "allow", id="systemctl-lists"),
        pytest.param("service --status-all", "allow", id="service-status-all"),
        pytest.param("npm list --depth 0", "allow", id="npm-list"),
        pytest.param("npm publish --dry-run", "allow", id="npm-publish-dry-run"),
        pytest.param("apt-get -s install nginx", "allow", id="apt-simulate"),
        pytest.param("pacman -Ss nginx", "allow", id="pacman-search"),
        pytest.param("less +G notes.txt", "allow", id="less-go-to-end"),
        pytest.param("less +/error -R app.log", "allow", id="less-search"),
        pytest.param("man 5 crontab", "allow", id="man-section"),
        pytest.param("ip route get 1.1.1.1", "allow", id="ip-route-get"),
        pytest.param("date -d yesterday +%F", "allow", id="date-format"),
        pytest.param("python3 -V", "allow", id="python-version"),
        pytest.param("nginx -t", "allow", id="nginx-test-own-config"),
        pytest.param("haproxy -c -f /etc/haproxy/haproxy.cfg", "allow", id="haproxy-check-etc"),
        pytest.param("redis-cli -h cache GET k", "allow", id="redis-get"),
        pytest.param("redis-cli --bigkeys", "allow", id="redis-bigkeys"),
        pytest.param("psql -l", "allow", id="psql-list"),
        pytest.param("git branch -a --merged", "allow", id="git-branch-list"),
        pytest.param("git remote -v", "allow", id="git-remote-list"),
        pytest.param("git config --get user.name", "allow", id="git-config-get"),
        pytest.param("helm list -A", "allow", id="helm-list"),
        pytest.param("kubectl config get-contexts", "allow", id="kubectl-contexts"),
        pytest.param("cargo build", "allow", id="cargo-build-is-regenerable"),
        pytest.param("sudo -l", "allow", id="sudo-list"),
        pytest.param("env -i", "allow", id="env-prints-an-empty-environment"),
        pytest.param("X=1", "allow", id="assignment-runs-nothing"),
    ],
)
def test_what_tables_say_reads_stays_free(command: str, decision: str) -> None:
    assert decide(command, "prod") == decision, analyze(command)
