"""Terraform and OpenTofu plans: every planned delete and replace, and what it loses.

    {"tool": "terraform", "input": {"plan": {…`terraform show -json plan.out`…}}}

One effect per managed resource deleted or replaced (``delete`` of ``terraform_resource``,
irreversible when the type is stateful and nothing survives it), one for the creates and
in-place updates together, and security-weakening updates called out. Drift, ``no-op``,
``read`` and ``forget`` change nothing and are not effects. The first effect carries a
``summary`` for the handoff: counts by action and type, and the stateful deletes by address.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.analyzers.terraform_catalog import ADMIN_PORTS, NO_FINAL_COPY, STATEFUL
from watchkeeper.models import Action, Effect, Span

_effect = functools.partial(Effect.of, "terraform")
MAX_CHANGES = 100_000


def _dynamic(why: str, span: Span | None = None) -> Effect:
    return _effect("unknown", "terraform_resource", None, flags=["dynamic"], span=span, why=why)


#: Every action list `terraform show -json` writes for a resource change.
KNOWN_ACTIONS = frozenset(
    {
        ("no-op",),
        ("read",),
        ("create",),
        ("update",),
        ("delete",),
        ("forget",),
        ("delete", "create"),
        ("create", "delete"),
        ("create", "forget"),
    }
)


def _actions(change: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The change's actions, or ``None`` when they are not a list of strings."""
    body = change.get("change")
    actions = body.get("actions") if isinstance(body, Mapping) else None
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        return None
    return tuple(actions)


def _survivor(before: Any) -> str | None:
    """What would remain after the delete, judged from the resource's own attributes."""
    if not isinstance(before, Mapping):
        return None
    for key, lost in NO_FINAL_COPY:
        if key in before and before.get(key) == lost:
            return None
    if before.get("skip_final_snapshot") is False and before.get("final_snapshot_identifier"):
        return f"final snapshot {before['final_snapshot_identifier']}"
    retention = before.get("backup_retention_period")
    if (
        isinstance(retention, int)
        and retention > 0
        and before.get("delete_automated_backups") is False
    ):
        return f"automated backups kept {retention} days"
    return None


def _protected(before: Any) -> bool:
    return isinstance(before, Mapping) and before.get("deletion_protection") is True


def _weakens(kind: str, after: Any) -> str | None:
    """An update that opens an admin port to the internet or makes a bucket public."""
    if not isinstance(after, Mapping):
        return None
    rules: list[Any] = []
    if kind in (
        "aws_security_group",
        "aws_security_group_rule",
        "aws_vpc_security_group_ingress_rule",
    ):
        ingress = after.get("ingress")
        rules = ingress if isinstance(ingress, list) else [after]
    for rule in rules:
        if not isinstance(rule, Mapping):
            continue
        cidrs = (rule.get("cidr_blocks") or []) + [rule.get("cidr_ipv4")]
        if any(c in ("0.0.0.0/0", "::/0") for c in cidrs if isinstance(c, str)):
            low, high = rule.get("from_port"), rule.get("to_port")
            if not (isinstance(low, int) and isinstance(high, int)):
                continue
            if any(low <= p <= high for p in ADMIN_PORTS) or (low, high) == (0, 0):
                return f"opens ports {low}-{high} to the internet"
    if kind == "aws_s3_bucket_public_access_block" and after.get("block_public_acls") is False:
        return "allows public bucket ACLs"
    if after.get("acl") in ("public-read", "public-read-write"):
        return f"makes the bucket {after['acl']}"
    if kind == "google_storage_bucket_iam_member" and after.get("member") in (
        "allUsers",
        "allAuthenticatedUsers",
    ):
        return "makes the bucket public"
    return None


def plan_effects(plan: Any, field: str = "plan") -> list[Effect]:
    """Effects of a ``terraform show -json`` plan document."""
    span = Span(field, 0, 0)
    changes = plan.get("resource_changes") if isinstance(plan, Mapping) else None
    if not isinstance(changes, list):
        return [_dynamic("not a terraform plan: no resource_changes list", span)]
    if len(changes) > MAX_CHANGES:
        return [_dynamic(f"more than {MAX_CHANGES} resource changes", span)]
    out: list[Effect] = []
    counts: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    stateful_deletes: list[str] = []
    changed = 0
    for n, change in enumerate(changes):
        # What cannot be read is not skipped: a change nobody understood may be a delete.
        if not isinstance(change, Mapping):
            out.append(_dynamic(f"resource change {n} is not an object", span))
            continue
        mode = change.get("mode", "managed")
        if mode == "data":
            continue
        actions = _actions(change)
        if mode != "managed" or actions is None or actions not in KNOWN_ACTIONS:
            shown = actions if actions is not None else change.get("change")
            out.append(_dynamic(f"resource change {n} ({str(change.get('address'))[:100]}): "
                                f"mode {mode!r}, actions {str(shown)[:100]}", span))  # fmt: skip
            continue
        address = str(change.get("address") or "")
        kind = str(change.get("type") or "")
        raw = change.get("change")
        body: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if "delete" in actions:
            action = "replace" if "create" in actions else "delete"
            counts[action] += 1
            by_type[f"{action} {kind}"] += 1
            group = STATEFUL.get(kind)
            survivor = _survivor(body.get("before"))
            if group:
                stateful_deletes.append(address)
            reversible = "unknown" if not group else ("yes" if survivor else "no")
            out.append(
                _effect(
                    "delete",
                    "terraform_resource",
                    address,
                    reversible=reversible,
                    recovery=survivor,
                    span=span,
                    action=action,
                    type=kind,
                    stateful=group or "",
                    protected=_protected(body.get("before")),
                )
            )
        elif actions in (("create",), ("update",)):
            counts[actions[0]] += 1
            by_type[f"{actions[0]} {kind}"] += 1
            changed += 1
            weakening = _weakens(kind, body.get("after"))
            if weakening:
                out.append(
                    _effect(
                        "update",
                        "terraform_resource",
                        address,
                        reversible="unknown",
                        flags=["privileged"],
                        span=span,
                        type=kind,
                        weakens=weakening,
                    )
                )
    if changed:
        out.append(
            _effect(
                "update",
                "terraform_resource",
                None,
                scope="many",
                reversible="yes",
                span=span,
                count=changed,
            )
        )
    if not out:
        out.append(_effect("read", "terraform_resource", None, reversible="yes", span=span))
    summary = {
        "counts": dict(counts),
        "by_type": dict(by_type.most_common(50)),
        "stateful_deletes": stateful_deletes[:200],
    }
    out[0] = out[0].with_attributes(summary=summary)
    return out


class TerraformPlanAnalyzer:
    """Reads ``{"plan": {…}}``; a ``command`` (``terraform destroy``) goes to the shell analyzer."""

    name = "terraform"

    def analyze(self, action: Action) -> Sequence[Effect]:
        """Effects of the plan in the input, or of the terraform command line."""
        if "plan" in action.input:
            return plan_effects(action.input["plan"])
        command = action.input.get("command")
        if isinstance(command, str):
            from watchkeeper.analyzers.shell import analyze

            words = (
                command
                if command.split()[:1] in (["terraform"], ["tofu"])
                else f"terraform {command}"
            )
            return analyze(words)
        return [_dynamic("neither a plan nor a command")]
