"""Inventory output: raw JSON, or Markdown with the JSON embedded (a reviewable snapshot)."""

from __future__ import annotations

import json

from vaultline.inventory.model import ORIGINS, Inventory


def to_json(inventory: Inventory) -> str:
    return json.dumps(inventory.to_dict(), indent=2) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(inventory: Inventory) -> str:
    data = inventory.to_dict()
    counts = data["counts"]
    findings = counts["findings"]
    out = [
        "# Kubernetes secrets inventory",
        "",
        f"Scanned {inventory.files_scanned} YAML files under `{inventory.root}`: "
        f"{counts['resources']} resources, {findings['error']} errors, "
        f"{findings['warning']} warnings, {counts['parse_errors']} parse errors.",
        "",
        "## Secrets by namespace and origin",
        "",
    ]
    summary = inventory.summary()
    origins = [o for o in ORIGINS if any(o in row for row in summary.values())]
    if summary:
        out.append("| namespace | " + " | ".join(origins) + " | total |")
        out.append("|---" * (len(origins) + 2) + "|")
        for namespace, row in summary.items():
            cells = [str(row.get(o, 0)) for o in origins]
            out.append(f"| {_cell(namespace)} | " + " | ".join(cells) + f" | {sum(row.values())} |")
    else:
        out.append("No secret resources found.")
    out += ["", "## Findings", ""]
    if inventory.findings:
        out.append("| severity | rule | where | resource | problem | fix |")
        out.append("|---|---|---|---|---|---|")
        for f in inventory.findings:
            out.append(
                f"| {f.severity} | {f.rule} {f.name} | `{f.file}:{f.line}` | {_cell(f.resource)} "
                f"| {_cell(f.message)} | {_cell(f.fix)} |"
            )
    else:
        out.append("No findings.")
    if inventory.parse_failures:
        out += ["", "## Files that could not be parsed", ""]
        for p in inventory.parse_failures:
            out.append(f"- `{p.file}:{p.line}`: {p.error}")
    out += [
        "",
        "## Inventory",
        "",
        f"Schema version {data['schema_version']}; regenerate with "
        f"`vaultline inventory {inventory.root} --output FILE`.",
        "",
        "```json",
        json.dumps(data, indent=2),
        "```",
        "",
    ]
    return "\n".join(out)
