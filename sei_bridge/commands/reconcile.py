"""``sei-bridge reconcile``: three-way comparison SIGRC ↔ ledger ↔ SEI for auditors."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument(
        "--since-days", type=float, default=7.0, help="requests changed in the last N days"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--report", type=Path, default=None, help="also write the report here")
    parser.add_argument(
        "--no-sei", action="store_true", help="skip the SEI leg (compare SIGRC and ledger only)"
    )


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app
    from sei_bridge.reconcile import Reconciler

    settings = _common.settings_from(args)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=args.since_days)
    with app.build_runtime(settings, read_only=not getattr(args, "fix", False)) as rt:
        report = Reconciler(
            store=rt.store,
            sigrc=rt.sigrc,
            sei=None if args.no_sei else rt.sei,
            mappings=rt.mappings,
            orgao=settings.sigrc_orgao,
        ).run(since=since)
    data = report.to_dict()
    text = json.dumps(data, ensure_ascii=False, indent=2) if args.json else report.to_text()
    if args.report is not None:
        args.report.write_text(text if args.json else report.to_text(), encoding="utf-8")
    print(text if args.json else report.to_text(), end="" if not args.json else "\n")
    return 0 if not report.findings else 1
