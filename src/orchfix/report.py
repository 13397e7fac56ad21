"""Output formats: unified diff, text, JSON and SARIF 2.1.0."""
from __future__ import annotations

import difflib
import json
from typing import Iterable

from orchfix import __version__
from orchfix.engine import RunResult
from orchfix.registry import all_transforms
from orchfix.transform import Finding

_NO_NEWLINE = "\\ No newline at end of file\n"
_COLOURS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}
_RESET = "\x1b[0m"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _split_lf(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unified_diff(path: str, before: str | None, after: str) -> str:
    """A git-style unified diff of one file; ``before`` None for a new file."""
    old = _split_lf(before or "")
    new = _split_lf(after)
    header_old = "/dev/null" if before is None else f"a/{path}"
    out = []
    for line in difflib.unified_diff(old, new, header_old, f"b/{path}", n=3):
        out.append(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE)
    return "".join(out)


def colourize(diff: str) -> str:
    out = []
    for line in diff.splitlines(keepends=True):
        colour = _COLOURS.get(line[:1]) if not line.startswith(("+++", "---")) else "\x1b[1m"
        out.append(f"{colour}{line.rstrip(chr(10))}{_RESET}\n" if colour else line)
    return "".join(out)


def diff(result: RunResult) -> str:
    """Every change ``--apply`` would write, files in path order, side files included."""
    parts = [(o.path, o.original, o.text) for o in result.changed]
    parts += [(path, before, after) for path, (before, after) in result.side.items()]
    return "".join(unified_diff(path, before, after) for path, before, after in sorted(parts, key=lambda p: p[0]))


def _status(finding: Finding, applied: bool) -> str:
    if applied:
        return "fixed"
    if finding.fix is None:
        return "report-only"
    return "fix hidden (needs --unsafe)" if finding.safety.value == "unsafe" else "fixable"


def findings(result: RunResult) -> Iterable[tuple[Finding, bool]]:
    """(finding, applied) pairs in file and line order."""
    pairs = [(f, True) for o in result.outcomes for f in o.applied] + [(f, False) for o in result.outcomes for f in o.remaining]
    return sorted(pairs, key=lambda p: (p[0].path, p[0].line, p[0].transform))


def text(result: RunResult, applied_word: str = "fixed") -> str:
    lines = []
    for f, applied in findings(result):
        status = _status(f, applied).replace("fixed", applied_word)
        reason = f" ({f.reason})" if f.reason and not applied else ""
        lines.append(f"{f.path}:{f.line}: {f.transform} {f.message} [{status}]{reason}\n")
    return "".join(lines)


def as_json(result: RunResult, applied: bool) -> str:
    """The JSON report; see README "JSON output" for the shape."""
    items = []
    for f, was_applied in findings(result):
        item = f.as_dict()
        item["status"] = ("fixed" if applied else "would-fix") if was_applied else _status(f, False).split(" ")[0]
        items.append(item)
    doc = {
        "version": __version__,
        "mode": "apply" if applied else "dry-run",
        "files_changed": sorted([o.path for o in result.changed] + list(result.side)),
        "findings": items,
        "errors": [{"path": p, "message": m} for p, m in result.errors],
        "skipped": [{"path": p, "reason": r} for p, r in result.notes],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def sarif(result: RunResult) -> str:
    """SARIF 2.1.0 that GitHub code scanning accepts: one run, a rule per transform."""
    known = all_transforms()
    used = sorted({f.transform for f, _ in findings(result)})
    rules = []
    for tid in used:
        cls = known[tid]
        sections = cls.doc_sections()
        rules.append({
            "id": tid,
            "name": cls.__name__,
            "shortDescription": {"text": cls.title},
            "fullDescription": {"text": sections.get("What it finds", cls.title)},
            "help": {"text": sections.get("Why it matters", cls.title)},
            "properties": {"category": cls.category, "safety": cls.safety.value},
        })
    index = {tid: i for i, tid in enumerate(used)}
    results = []
    for f, applied in findings(result):
        results.append({
            "ruleId": f.transform,
            "ruleIndex": index[f.transform],
            "level": "warning",
            "message": {"text": f.message + (f" ({f.reason})" if f.reason else "")},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(1, f.line)},
                }
            }],
            "properties": {"status": _status(f, applied)},
        })
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "orchfix", "version": __version__, "semanticVersion": __version__, "rules": rules,
            }},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def transforms_table() -> str:
    """The README's table of every registered transform (so the README cannot drift)."""
    rows = ["| id | category | title | safety |", "|---|---|---|---|"]
    rows += [f"| `{tid}` | {cls.category} | {cls.title} | {cls.safety.value} |" for tid, cls in all_transforms().items()]
    return "\n".join(rows) + "\n"
