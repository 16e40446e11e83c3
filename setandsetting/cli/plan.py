"""`setandsetting plan PROFILE --patient ID [--json]`: the compiled timeline."""

from __future__ import annotations

import argparse
import json
from typing import Any

from setandsetting.cli.common import compiled
from setandsetting.core.plan import build_plan
from setandsetting.core.units import format_clock, format_duration


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="show the compiled timeline of a session")
    p.add_argument("profile", help="a profile: its name (im-ketamine) or file")
    p.add_argument("--patient", required=True, help="pseudonymous patient ID")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--seed", type=int, default=None, help="shuffle seed (default: stable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plan = build_plan(compiled(args).timeline)
    if args.json:
        print(json.dumps(plan, indent=2))
    else:
        print(render(plan))
    return 0


def _clock(t: float | None) -> str:
    return "open" if t is None else format_clock(t)


def render(plan: dict[str, Any]) -> str:
    """A readable table: phases, then tracks, check-ins and cues in time order."""
    lines = [f"{plan['profile']} — patient {plan['patient']}", ""]
    lines.append(f"{'PHASE':<16}{'START':>9}{'END':>9}{'LENGTH':>9}  EXTENDABLE")
    for p in plan["phases"]:
        length = "open" if p["duration_s"] is None else format_duration(p["duration_s"])
        ext = format_duration(p["extendable_s"]) if p["extendable_s"] else "-"
        start = "-" if p["start_s"] is None else format_clock(p["start_s"])
        lines.append(f"{p['id']:<16}{start:>9}{_clock(p['end_s']):>9}{length:>9}  {ext}")
    rows: list[tuple[float, str]] = []
    for t in plan["tracks"]:
        length = "" if t["duration_s"] is None else f" ({format_duration(t['duration_s'])})"
        phases = "→".join(t["phases"][:: max(1, len(t["phases"]) - 1)])  # a→c
        rows.append((t["start_s"], f"track    {phases:<14}{t['title']}{length}"))
    for c in plan["checkins"]:
        ack = ", ack required" if c["ack"] == "required" else ""
        rows.append((c["at_s"], f"check-in {c['phase']:<14}{c['kind']} for {c['audience']}{ack}"))
    for c in plan["cues"]:
        target = c["target"] or "default"
        rows.append((c["at_s"], f"cue      {c['phase']:<14}{c['kind']} to {target}"))
    lines += ["", f"{'TIME':>9}  WHAT"]
    lines += [f"{format_clock(t):>9}  {text}" for t, text in sorted(rows, key=lambda r: r[0])]
    if plan["warnings"]:
        lines += ["", "WARNINGS"] + [f"  - {w}" for w in plan["warnings"]]
    return "\n".join(lines)
