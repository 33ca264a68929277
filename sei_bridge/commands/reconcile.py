"""``sei-bridge reconcile``: three-way comparison SIGRC ↔ ledger ↔ SEI for auditors.

Exit status: 0 no drift, 1 drift found, 2 error (as every command), 3 no drift among the
requests checked but the run is incomplete (a budget was reached, or requests could not be read).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from sei_bridge import errors
from sei_bridge.commands import _common

#: the defaults of :class:`sei_bridge.reconcile.Budget`, here so that ``--help`` imports nothing
#: heavy (tests/unit/test_reconcile_reports.py holds the two equal)
DEFAULTS = {"max_pages": 2000, "max_seconds": 3600.0, "max_findings": 20000}
_ENV = {
    "max_pages": "SEI_BRIDGE_RECONCILE_MAX_PAGES",
    "max_seconds": "SEI_BRIDGE_RECONCILE_MAX_SECONDS",
    "max_findings": "SEI_BRIDGE_RECONCILE_MAX_FINDINGS",
}


def _moment(text: str) -> dt.datetime:
    """An ISO date or date-time; a date is midnight UTC, a naive date-time is UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write 2026-11-01 or 2026-11-01T08:00:00-03:00"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    scope = parser.add_argument_group("what to reconcile")
    scope.add_argument(
        "--since", type=_moment, default=None, help="requests SIGRC changed from this moment"
    )
    scope.add_argument("--until", type=_moment, default=None, help="... up to this moment")
    scope.add_argument(
        "--since-days",
        type=float,
        default=7.0,
        help="without --since: requests changed in the last N days (default 7)",
    )
    scope.add_argument(
        "--protocolo",
        action="append",
        default=[],
        metavar="P",
        help="reconcile this request (repeatable; instead of a period)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per finding")
    out.add_argument(
        "--html", type=Path, default=None, metavar="FILE", help="write the HTML report"
    )
    out.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the printed report here",
    )
    parser.add_argument(
        "--no-sei", action="store_true", help="skip the SEI leg (compare SIGRC and ledger only)"
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="enqueue the safe repairs (missing effects) in the ledger; run sync afterwards. "
        "Never deletes or edits anything in SEI",
    )
    budget = parser.add_argument_group("budget")
    budget.add_argument(
        "--max-pages",
        type=int,
        default=None,
        help=f"SIGRC list pages read at most (env {_ENV['max_pages']}; "
        f"default {DEFAULTS['max_pages']})",
    )
    budget.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help=f"seconds the run may take (env {_ENV['max_seconds']}; "
        f"default {DEFAULTS['max_seconds']:g})",
    )
    budget.add_argument(
        "--max-findings",
        type=int,
        default=None,
        help=f"findings listed (all are counted; env {_ENV['max_findings']}; "
        f"default {DEFAULTS['max_findings']})",
    )


def _budget_value(args: argparse.Namespace, name: str, kind: type[Any], default: Any) -> Any:
    value = getattr(args, name)
    if value is not None:
        return value
    raw = os.environ.get(_ENV[name])
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise errors.ConfigurationError(
            f"{_ENV[name]}={raw!r} is not a number: set it to a "
            f"{'whole number' if kind is int else 'number of seconds'}"
        ) from None


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app, chars
    from sei_bridge.reconcile import Budget, Reconciler
    from sei_bridge.reports import reconciliation as render

    budget = Budget(
        max_pages=_budget_value(args, "max_pages", int, DEFAULTS["max_pages"]),
        max_seconds=_budget_value(args, "max_seconds", float, DEFAULTS["max_seconds"]),
        max_findings=_budget_value(args, "max_findings", int, DEFAULTS["max_findings"]),
    )
    if args.json and args.csv:
        raise errors.ConfigurationError("choose one of --json and --csv")
    settings = _common.settings_from(args)
    since = args.since
    if since is None and not args.protocolo:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=args.since_days)
    # the one place this command opens the store (and SIGRC and SEI): read-only unless --fix
    with app.build_runtime(settings, read_only=not args.fix) as rt:
        report = Reconciler(
            store=rt.store,
            sigrc=rt.sigrc,
            sei=None if args.no_sei else rt.sei,
            mappings=rt.mappings,
            orgao=settings.sigrc_orgao,
            budget=budget,
        ).run(since=since, until=args.until, protocolos=args.protocolo, fix=args.fix)
    if args.json:
        import json

        text = (
            chars.escape_controls_json(
                json.dumps(render.to_dict(report), ensure_ascii=False, indent=2)
            )
            + "\n"
        )
    elif args.csv:
        text = render.to_csv(report)
    else:
        text = render.to_text(report)
    if args.report is not None:
        args.report.write_text(text, encoding="utf-8", newline="")
    if args.html is not None:
        args.html.write_text(render.to_html(report), encoding="utf-8")
    sys.stdout.write(text)
    return report.exit_status()
