"""Terraform and OpenTofu plans: every planned delete and replace, and what it loses.

    {"tool": "terraform", "input": {"plan": {…`terraform show -json plan.out`…}}}

One effect per managed resource deleted or replaced (``delete`` of ``terraform_resource``,
irreversible when the type is stateful and nothing survives it), one for the creates and
in-place updates together, and security-weakening updates called out. Drift, ``no-op``,
``read`` and ``forget`` change nothing and are not effects. The first effect carries a
``summary`` for the handoff: counts by action and type, and the stateful deletes by address.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from watchkeeper.analyzers.effects import Reversible, builder
from watchkeeper.analyzers.paths import path_flags
from watchkeeper.analyzers.terraform_catalog import (
    ADMIN_PORTS,
    NO_FINAL_COPY,
    STATEFUL,
    ephemeral,
)
from watchkeeper.models import Action, Effect, Span

_effect = builder("terraform")
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


def _plain(value: Any) -> Any:
    """Booleans and numbers as terraform writes them, also when written as strings."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered.lstrip("-").isdigit():
            return int(lowered)
    return value


def _attributes(value: Any) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _survivor(before: Any) -> str | None:
    """What would remain after the delete, judged from the resource's own attributes."""
    if not isinstance(before, Mapping):
        return None
    before = _attributes(before)
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
    return _attributes(before).get("deletion_protection") is True


#: Resource types that decide who may do what, or what may reach what: any change is a grant.
_ACCESS = re.compile(
    r"(_iam_|^aws_iam|_role_assignment|_role_definition|_policy(_attachment)?$|_bucket_policy|"
    r"_acl$|_access_policy|_service_account_key|_access_key|_sql_user|_user_login_profile|"
    r"_organizations_|_permission|_authorization|_identity_provider|_saml_provider|"
    r"role_binding|_collaborator|_team_membership|_team_repository|_member$|_membership$)"
)
#: Resource types that control exposure: firewalls, security groups, public access.
_EXPOSURE = re.compile(
    r"(_security_group|_firewall|network_security_rule|_network_acl|public_access_block|"
    r"_cors_|_ingress|_egress|_route$|_lb_listener|_waf)"
)
#: Resource types that run code when applied: always, or when they carry provisioners.
_RUNS = frozenset(
    {"aws_lambda_invocation", "google_cloudfunctions_function_invocation",
     "aws_ssm_association"}
)  # fmt: skip
#: Resource types that write a file on the machine that applies the plan, at `filename`.
_LOCAL_FILES = frozenset({"local_file", "local_sensitive_file"})
_RUNS_IF_PROVISIONED = frozenset({"null_resource", "terraform_data"})
#: Attribute changes that remove a protection (before → after).
_PROTECTIONS = (
    ("deletion_protection", True, False),
    ("skip_final_snapshot", False, True),
    ("force_destroy", False, True),
    ("is_enabled", True, False),
    ("enable_key_rotation", True, False),
    ("delete_automated_backups", False, True),
    ("prevent_destroy", True, False),
    ("termination_protection", True, False),
    ("point_in_time_recovery_enabled", True, False),
    ("versioning_enabled", True, False),
    ("enable_logging", True, False),
    ("enable", True, False),
    ("publicly_accessible", False, True),
    ("endpoint_public_access", False, True),
    ("map_public_ip_on_launch", False, True),
)


def _weakened(kind: str, before: Any, after: Any) -> str | None:
    """What an update takes away: a protection, backups, or the engine it runs on."""
    old, new = _attributes(before), _attributes(after)
    for key, was, becomes in _PROTECTIONS:
        if old.get(key) == was and new.get(key) == becomes:
            return f"turns {key} from {was} to {becomes}"
    retention = old.get("backup_retention_period")
    if isinstance(retention, int) and retention > 0 and new.get("backup_retention_period") == 0:
        return "stops keeping backups"
    if STATEFUL.get(kind) and old.get("engine_version") not in (None, new.get("engine_version")):
        return "upgrades the engine in place (no way back to the old version)"
    return None


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
        cidrs = [
            *(rule.get("cidr_blocks") or []),
            *(rule.get("ipv6_cidr_blocks") or []),
            rule.get("cidr_ipv4"),
            rule.get("cidr_ipv6"),
        ]
        if any(c in ("0.0.0.0/0", "::/0") for c in cidrs if isinstance(c, str)):
            low, high = rule.get("from_port"), rule.get("to_port")
            if not (isinstance(low, int) and isinstance(high, int)):
                continue
            if any(low <= p <= high for p in ADMIN_PORTS) or (low, high) == (0, 0):
                return f"opens ports {low}-{high} to the internet"
    anywhere = ("0.0.0.0/0", "::/0", "*", "Internet", "Any", "any")
    if kind == "google_compute_firewall" and str(after.get("direction") or "INGRESS") == "INGRESS":
        sources = after.get("source_ranges") or []
        if isinstance(sources, list) and any(r in anywhere for r in sources) and after.get("allow"):
            return "allows traffic from the whole internet"
    if (
        kind == "azurerm_network_security_rule"
        and after.get("access") == "Allow"
        and (
            after.get("direction") == "Inbound" and (after.get("source_address_prefix") in anywhere)
        )
    ):
        return "allows inbound traffic from the whole internet"
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


def _provisioned(plan: Mapping[str, Any]) -> set[str]:
    """Addresses (module path included) whose configuration has provisioners."""
    out: set[str] = set()

    def walk(module: Any, prefix: str, depth: int) -> None:
        if not isinstance(module, Mapping) or depth > 20:
            return
        for resource in module.get("resources") or []:
            if isinstance(resource, Mapping) and resource.get("provisioners"):
                out.add(prefix + str(resource.get("address")))
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, Mapping):
                walk(call.get("module"), f"{prefix}module.{name}.", depth + 1)

    configuration = plan.get("configuration")
    if isinstance(configuration, Mapping):
        walk(configuration.get("root_module"), "", 0)
    return out


def _special(
    kind: str,
    action: str,
    body: Mapping[str, Any],
    address: str,
    span: Span,
    provisioned: set[str],
) -> Effect | None:
    """A create or update that is more than a reversible change, or ``None``."""
    # An instance's address carries its index ([0], ["a"]); the configuration's does not.
    configured = address.split("[", 1)[0]
    if (
        kind in _RUNS
        or configured in provisioned
        or (kind in _RUNS_IF_PROVISIONED and not isinstance(body.get("after"), Mapping))
    ):
        return _effect("execute", "process", address, flags=["dynamic"], span=span, type=kind,
                       why=f"{kind} runs code when applied")  # fmt: skip
    if _ACCESS.search(kind):
        return _effect("grant", "terraform_resource", address, flags=["privileged"], span=span,
                       type=kind, action=action)  # fmt: skip
    filename = _attributes(body.get("after")).get("filename") if kind in _LOCAL_FILES else None
    if isinstance(filename, str) and filename.startswith(("/", "~", "..")):
        # local_file at /etc/cron.d/x: a file written outside the configuration's directory
        return _effect("overwrite", "file", filename, reversible="unknown", span=span, type=kind,
                       flags=path_flags(filename))  # fmt: skip
    weakening = _weakens(kind, body.get("after")) or (
        _weakened(kind, body.get("before"), body.get("after")) if action == "update" else None
    )
    # A new firewall or group is judged by what it opens (above); changing one that is in
    # use changes who can reach what already runs.
    unseen = not isinstance(body.get("after"), Mapping)  # what it opens is not in the plan
    if weakening or ((action == "update" or unseen) and _EXPOSURE.search(kind)):
        return _effect("update", "terraform_resource", address, reversible="unknown",
                       flags=["privileged"], span=span, type=kind,
                       weakens=weakening or f"changes who can reach what ({kind})")  # fmt: skip
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
    provisioned = _provisioned(plan)
    for n, change in enumerate(changes):
        # What cannot be read is not skipped: a change nobody understood may be a delete.
        if not isinstance(change, Mapping):
            out.append(_dynamic(f"resource change {n} is not an object", span))
            continue
        mode = change.get("mode", "managed")
        actions = _actions(change)
        if mode == "data" and actions in (("read",), ("no-op",), None):
            continue  # a data source is read, never changed
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
            # A replaced database starts empty: its data comes back only by a manual restore.
            reversible: Reversible = "unknown" if not group else ("no" if not survivor else
                         "unknown" if action == "replace" else "yes")  # fmt: skip
            # Terraform's own bookkeeping (random values, waits, null resources) comes back with
            # the next apply; unless its configuration runs a provisioner (a destroy-time one).
            if ephemeral(kind) and address.split("[", 1)[0] not in provisioned:
                reversible, survivor = "yes", "the next apply creates it again"
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
            special = _special(kind, actions[0], body, address, span, provisioned)
            if special is not None:
                out.append(special)
            else:
                changed += 1
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
        out: list[Effect] = []
        if "plan" in action.input:
            out.extend(plan_effects(action.input["plan"]))
        command = action.input.get("command")
        if "command" in action.input and not isinstance(command, str):
            out.append(_dynamic("the command is not a string"))
        if isinstance(command, str):  # both given: what runs is the command, whatever the plan
            from watchkeeper.analyzers.shell import analyze

            words = (
                command
                if command.split()[:1] in (["terraform"], ["tofu"])
                else f"terraform {command}"
            )
            out.extend(analyze(words))
        return out or [_dynamic("neither a plan nor a command")]
