"""``watchkeeper db …`` and ``watchkeeper audit …``: the database and the audit log.

Every command takes ``--db URL`` (or ``WATCHKEEPER_DB``; default: the embedded SQLite file under
``.watchkeeper/``) and most take ``--json``. ``audit verify`` exits 1 when the log does not verify.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from watchkeeper.config import SETTING, Settings
from watchkeeper.errors import UsageError
from watchkeeper.terminal import json_text, shown
from watchkeeper.wording import plural

if TYPE_CHECKING:  # the store is imported by the commands that use it, when they run
    from watchkeeper.store.checkpoint import Signer, Verifier
    from watchkeeper.store.database import Store

db_app = typer.Typer(help="The database: create or upgrade its schema.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit log: verify it, read it, export it, sign checkpoints, prove inclusion.",
    no_args_is_help=True,
)
prove_app = typer.Typer(help="Proofs an auditor can check offline.", no_args_is_help=True)
audit_app.add_typer(prove_app, name="prove")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=SETTING["db"].env,
        help="Database URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB. "
        "Default: sqlite:///.watchkeeper/watchkeeper.db",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Verifier key (name+hexkeyid+base64, as `audit key` prints) to check checkpoint "
        "signatures with. Default: the public half of the audit key file, if it exists.",
    ),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(shown(message.rstrip("\n")) + "\n")
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except UsageError as exc:
        _fail(str(exc))


def _store(url: str | None) -> Store:
    from watchkeeper.store.database import Store

    try:
        return Store.open(url)
    except UsageError as exc:
        _fail(str(exc))


def _signer(settings: Settings) -> Signer:
    from watchkeeper.store.checkpoint import CheckpointError, Signer

    try:
        return Signer.load(settings.audit_key, settings.audit_origin)
    except CheckpointError as exc:
        _fail(str(exc))


def _verifier(key: str | None, settings: Settings) -> Verifier | None:
    from watchkeeper.store.checkpoint import CheckpointError, Verifier

    if key is not None:
        try:
            return Verifier.parse(key)
        except CheckpointError as exc:
            _fail(f"--key: {exc}")
    if Path(settings.audit_key).exists():
        return _signer(settings).verifier
    return None


def _print_json(value: Any) -> None:
    sys.stdout.write(json_text(value) + "\n")
    sys.stdout.flush()


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or upgrade the database schema (safe to run again, and concurrently)."""
    store = _store(db)  # an empty database is migrated on open
    try:
        revision = store.upgrade()
    finally:
        store.close()
    print(f"schema at revision {revision}")


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    key: KeyOption = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint note kept outside the database (published, witnessed); "
            "the log must still contain it. Repeatable. The newest note kept beside the "
            "audit key is always checked.",
        ),
    ] = None,
    require_signed: Annotated[
        bool,
        typer.Option(
            "--require-signed",
            help="Exit 1 also when events exist that no signed checkpoint covers yet.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute the tree from the events; check every stored hash, checkpoint and signature.

    Names the first bad event, then checks that the approvals, votes, grants, pauses, agents,
    people and tokens in the database are what the log's events made them. Events after the
    newest signed checkpoint are reported as unprotected: nothing vouches for them yet. Exits 1
    if the log does not verify (or, with --require-signed, if any event is unprotected).
    """
    from watchkeeper.store.audit import AuditLog
    from watchkeeper.store.vouch import cross_check

    settings = _settings()
    verifier = _verifier(key, settings)
    notes = []
    for path in checkpoint or []:
        try:
            notes.append(path.read_text(encoding="utf-8"))
        except OSError as exc:
            _fail(f"--checkpoint {path}: {exc.strerror}")
    kept = Path(settings.audit_key + ".last")
    if kept.exists():
        notes.append(kept.read_text(encoding="utf-8"))
    store = _store(db)
    started = time.perf_counter()
    try:
        report = AuditLog(store).verify(verifier, notes)
        if report.problem is None:  # the events hold: do the rows say what they made them?
            report.disagreements = cross_check(store)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    failed = not report.ok or (require_signed and report.unprotected > 0)
    if as_json:
        _print_json({**report.to_json(), "signatures_checked": verifier is not None,
                     "seconds": round(seconds, 3)})  # fmt: skip
    elif report.ok:
        signed = "checked" if verifier is not None else "NOT checked (no key: pass --key)"
        outside = f", {report.published} kept outside the database" if report.published else ""
        print(
            f"ok: {plural(report.size, 'event')}, {plural(report.checkpoints, 'checkpoint')}"
            f"{outside} (signatures "
            f"{signed}), root {report.root.hex()} ({seconds:.2f} s)"
        )
        if report.unprotected:
            print(
                f"UNPROTECTED: {plural(report.unprotected, 'event')} after the newest signed "
                f"checkpoint (from event {report.signed}, recorded {report.unprotected_since}): "
                "no signature covers them yet, so a change to them or their removal would not "
                "be caught. A running server signs them within checkpoint_seconds; "
                "`watchkeeper audit checkpoint` signs them now."
            )
        else:
            print("every event is covered by a signed checkpoint")
    else:
        at = (
            ""
            if report.first_bad_index is None
            else f" (first bad event: {report.first_bad_index})"
        )
        if report.problem is not None:
            print(shown(f"FAILED: {report.problem}{at}"))
        else:
            print(
                f"FAILED: the database's state disagrees with the audit log in "
                f"{plural(len(report.disagreements), 'place')} (changed outside watchkeeper?):"
            )
            for line in report.disagreements:
                print(f"  - {shown(line)}")
    raise typer.Exit(1 if failed else 0)


def _leaf_line(leaf: Any, as_json: bool) -> str:
    if as_json:
        return json_text(leaf.to_json())
    event = json.loads(leaf.event)
    summary = event.get("decision", {}).get("decision") if leaf.kind == "decision" else None
    what = f" {summary}" if summary else ""
    return shown(f"{leaf.index:>8}  {event.get('time', '')}  {leaf.kind}{what}")


@audit_app.command("tail")
def audit_tail(
    db: DbOption = None,
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many events.")] = 10,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new events.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The newest events; with -f, new ones as they are recorded."""
    from watchkeeper.store.audit import AuditLog

    store = _store(db)
    log = AuditLog(store)
    try:
        size = log.size()
        for leaf in log.leaves(max(0, size - lines), size):
            print(_leaf_line(leaf, as_json), flush=True)
        while follow:
            time.sleep(0.5)
            now = log.size()
            for leaf in log.leaves(size, now):
                print(_leaf_line(leaf, as_json), flush=True)
            size = now
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


@audit_app.command("show")
def audit_show(
    index: Annotated[int, typer.Argument(help="Event index, from 0.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One event: its canonical JSON and leaf hash."""
    from watchkeeper.store.audit import AuditLog

    store = _store(db)
    try:
        log = AuditLog(store)
        leaf, size = log.leaf(index), log.size()
    finally:
        store.close()
    if leaf is None:
        _fail(f"no event {index}: the log holds {size} events, numbered from 0", 1)
    if as_json:
        _print_json(leaf.to_json())
    else:
        print(shown(f"event {leaf.index} ({leaf.kind}), leaf hash {leaf.leaf_hash.hex()}"))
        print(json_text(json.loads(leaf.event), indent=2))


@audit_app.command("export")
def audit_export(
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")
    ] = None,
    start: Annotated[int, typer.Option("--from", help="First event index.")] = 0,
) -> None:
    """Every event as JSON lines, in order (a progress bar on a terminal)."""
    from watchkeeper.store.audit import AuditLog

    store = _store(db)
    log = AuditLog(store)
    target = output.open("w", encoding="utf-8") if output is not None else sys.stdout
    try:
        size = log.size()
        show = sys.stderr.isatty()
        if show:
            from rich.progress import Progress

            with Progress(console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("exporting", total=max(size - start, 0))
                for leaf in log.leaves(start, size):
                    target.write(json_text(leaf.to_json()) + "\n")
                    bar.advance(task)
        else:
            for leaf in log.leaves(start, size):
                target.write(json_text(leaf.to_json()) + "\n")
    finally:
        if output is not None:
            target.close()
        store.close()


@audit_app.command("checkpoint")
def audit_checkpoint(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Sign a checkpoint of the log as it is now, store it, and print the note."""
    from watchkeeper.store.audit import AuditLog

    settings = _settings()
    signer = _signer(settings)
    store = _store(db)
    try:
        note = AuditLog(store).checkpoint(signer, settings.audit_origin)
    except RuntimeError as exc:
        _fail(f"refusing to sign: {exc}", 1)
    finally:
        store.close()
    if as_json:
        _print_json({"note": note, "key": str(signer.verifier)})
    else:
        sys.stdout.write(note)


@audit_app.command("key")
def audit_key(as_json: JsonOption = False) -> None:
    """The verifier key to publish: name+hexkeyid+base64(0x01 ‖ public key)."""
    signer = _signer(_settings())
    if as_json:
        _print_json({"key": str(signer.verifier), "name": signer.name})
    else:
        print(signer.verifier)


@prove_app.command("inclusion")
def prove_inclusion(
    index: Annotated[int, typer.Option("--index", help="The event's index.")],
    size: Annotated[
        int | None, typer.Option("--size", help="Tree size (default: the current size).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """That event INDEX is in the tree of SIZE events."""
    from watchkeeper.store.audit import AuditLog

    store = _store(db)
    log = AuditLog(store)
    try:
        size = log.size() if size is None else size
        leaf = log.leaf(index)
        if leaf is None or index >= size:
            _fail(f"event {index} is not in a tree of {size} events", 1)
        proof = log.inclusion_proof(index, size)
        root = log.root(size)
    except ValueError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()
    result = {"index": index, "size": size, "leaf_hash": leaf.leaf_hash.hex(),
              "proof": [p.hex() for p in proof], "root": root.hex()}  # fmt: skip
    if as_json:
        _print_json(result)
    else:
        print(f"event {index} in {size} events; root {root.hex()}")
        print(f"leaf hash {leaf.leaf_hash.hex()}")
        for p in proof:
            print(f"  {p.hex()}")


@prove_app.command("consistency")
def prove_consistency(
    old: Annotated[int, typer.Option("--old", help="The older tree size.")],
    new: Annotated[
        int | None, typer.Option("--new", help="The newer tree size (default: current).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """That the tree of OLD events is a prefix of the tree of NEW events."""
    from watchkeeper.store.audit import AuditLog

    store = _store(db)
    log = AuditLog(store)
    try:
        new = log.size() if new is None else new
        if not 0 < old <= new <= log.size():
            _fail(f"no consistency proof from {old} to {new}: the log holds {log.size()}", 1)
        proof = log.consistency_proof(old, new) if old != new else []
        old_root, new_root = log.root(old), log.root(new)
    except ValueError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()
    result = {"old": old, "new": new, "old_root": old_root.hex(), "new_root": new_root.hex(),
              "proof": [p.hex() for p in proof]}  # fmt: skip
    if as_json:
        _print_json(result)
    else:
        print(f"{old} → {new} events; roots {old_root.hex()} → {new_root.hex()}")
        for p in proof:
            print(f"  {p.hex()}")
