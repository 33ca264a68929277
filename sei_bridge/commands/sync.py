"""``sei-bridge sync --until-idle``: one full pass (poll, plan, dispatch, probe) and exit."""

from __future__ import annotations

import argparse
import logging

from sei_bridge.commands import _common

log = logging.getLogger(__name__)

#: exit status when the time limit came (or a stop) before the work was done
EXIT_NOT_IDLE = 3
#: exit status when all that remains waits for a person (``sei-bridge resolve``)
EXIT_NEEDS_PERSON = 4


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
        help="stop after this many seconds even if work remains (exit status 3)",
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
    if not report.idle:
        return EXIT_NOT_IDLE
    waiting = report.actions_by_state.get("NEEDS_PERSON", 0)
    if waiting:
        # idle, and what remains cannot move without someone: say so, and exit apart
        log.warning(
            "%d effect(s) need a person before their requests can go on: "
            "see sei-bridge status, then sei-bridge resolve",
            waiting,
        )
        return EXIT_NEEDS_PERSON
    return 0
