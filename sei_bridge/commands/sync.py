"""``sei-bridge sync --until-idle``: one full pass (poll, plan, dispatch, probe) and exit."""

from __future__ import annotations

import argparse
import logging

from sei_bridge.commands import _common

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument(
        "--until-idle",
        action="store_true",
        help="run until the feed is drained and nothing is due, then exit (the only mode)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop after this many seconds even if work remains (exit code 3)",
    )
    parser.add_argument("--json", action="store_true", help="print the pass report as JSON")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app

    settings = _common.settings_from(args)
    with app.build_runtime(settings) as runtime:
        report = runtime.engine.sync_until_idle(max_seconds=args.max_seconds)
    if args.json:
        _common.emit_json(report.to_dict())
    else:
        print(report.to_text(), end="")
    return 0 if report.idle else 3
