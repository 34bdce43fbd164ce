"""Markdown runbooks per secret class, written from the ``rotate:`` and ``rotation:`` config.

What an on-call engineer needs at 3 a.m.: which keys the class holds, how often they rotate,
the exact commands for a routine rotation, a stopped one, and an emergency.
"""

from __future__ import annotations

from collections.abc import Iterable

from vaultline.duration import format_duration
from vaultline.keys.policy import RotationPolicy
from vaultline.project.model import Project
from vaultline.rotate import config
from vaultline.rotate.config import RotationSpec, Strategy

_STRATEGY_NOTES = {
    Strategy.ALTERNATING_USERS: (
        "Two roles take turns: the rotation re-keys the role not in use, publishes it, and keeps "
        "the replaced role valid (`VALID UNTIL`) for the grace. Clients resolving the key get "
        "the new role at once; connections made with the old one keep working until retire."),
    Strategy.SINGLE_USER: (
        "One role is re-keyed in place. **Clients holding the old password fail from the "
        "`ALTER ROLE` until they resolve again**: rotate in a quiet window, or move to "
        "alternating-users."),
    Strategy.DUAL: (
        "Current and previous keys are both valid during the grace. Servers verify against both "
        "(`REF@current` and `REF@previous`); clients switch to the new key; retire drops the "
        "previous one."),
    Strategy.REPLACE: (
        "The value is replaced outright; there is no overlap. Consumers must resolve again "
        "(restart, or `vaultline run` reload) right after the rotation."),
}


def render(project: Project, *, key_class: str | None = None,
           envs: Iterable[str] | None = None) -> str:
    rotate = config.load(project)
    policy = RotationPolicy.from_section(project.sections.get("rotation"),
                                         environments=project.environments)
    classes: dict[str, list[RotationSpec]] = {}
    for spec in rotate.specs.values():
        if key_class is None or spec.key_class == key_class:
            classes.setdefault(spec.key_class, []).append(spec)
    if not classes:
        wanted = f"class {key_class!r}" if key_class else "any key"
        return f"# Rotation runbooks\n\nNo rotated secret of {wanted} in vaultline.yaml's rotate:.\n"
    chosen = list(envs) if envs is not None else list(project.environments)
    out = ["# Rotation runbooks", ""]
    for name, specs in sorted(classes.items()):
        for env in chosen:
            out += _class_section(project, policy, name, specs, env)
    return "\n".join(out).rstrip() + "\n"


def _class_section(project: Project, policy: RotationPolicy, name: str,
                   specs: list[RotationSpec], env: str) -> list[str]:
    rule = policy.rule_for(name, env)
    every = (f"every {format_duration(rule.every)} ({rule.where})" if rule is not None
             else "no period set: add one under `rotation:` (on demand only until then)")
    protected = project.environment(env).protected
    lines = [f"## {name} in {env}", "", f"- Schedule: {every}"]
    for spec in sorted(specs, key=lambda s: s.key):
        grace = spec.grace if spec.grace is not None else policy.grace_for(name, env)
        if spec.strategy in (Strategy.SINGLE_USER, Strategy.REPLACE):
            grace_text = "none"
        else:
            grace_text = format_duration(grace)
        target = ""
        if spec.target is not None:
            target = f", roles {' / '.join(spec.target.users)} via {spec.target.admin}"
        mirrors = f", mirrored to {', '.join(map(str, spec.mirrors))}" if spec.mirrors else ""
        lines.append(f"- `{spec.key}`: {spec.strategy}, new values from `{spec.generator}`, "
                     f"grace {grace_text}{target}{mirrors}")
    lines += [""]
    for strategy in sorted({s.strategy for s in specs}):
        lines += [f"**{strategy}.** {_STRATEGY_NOTES[strategy]}", ""]
    key = sorted(s.key for s in specs)[0]
    approver = " --approved-by SECOND_PERSON" if protected else " [--approved-by NAME]"
    lines += [
        "### Routine rotation", "",
        f"1. Dry run: `vaultline rotate plan {key} --env {env}`",
        f"2. Rotate: `vaultline rotate run {key} --env {env}` (publishes, then returns; the "
        "grace runs on its own)",
        f"3. Watch `vaultline rotate status --env {env}`: the PREVIOUS READERS column lists "
        "principals that still resolved the replaced value",
        f"4. After the grace: `vaultline rotate retire {key} --env {env}`, or let cron run "
        f"`vaultline rotate run --due --env {env}`",
        f"5. Confirm: `vaultline rotate verify {key} --env {env}` (every store's copy works)", "",
        "### A rotation that stopped", "",
        f"- `vaultline rotate status --env {env}` shows it as running or stuck, with its id.",
        "- Stopped before publish: `vaultline rotate abort ID` (nothing was changed).",
        "- Stopped after publish: fix the cause, then `vaultline rotate resume ID` (it rolls "
        "forward; publishing again is a no-op).", "",
        "### Emergency (credential exposed)", "",
        f"1. Open an incident; `vaultline rotate run {key} --env {env} --emergency --ticket "
        f"INC-…{approver}`",
        "2. The replaced credential is retired at once"
        + (" and the old role's open sessions are ended" if any(s.is_db for s in specs) else "")
        + "; the ticket and approver are in the audit log.",
        f"3. Check who still used it: `vaultline audit show --key '{key}' --action read "
        "--since 1d`", "",
    ]
    if protected:
        lines += [f"{env} is protected: an emergency rotation needs an approver other than the "
                  "person running it.", ""]
    return lines
