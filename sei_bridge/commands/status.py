"""``sei-bridge status [--json]``: counts by state, the quarantine with reasons, and what waits
for a person. Reads only the store: works while SEI or SIGRC are down."""

from __future__ import annotations

import argparse

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app

    store = app.open_store(_common.settings_from(args), read_only=True)
    try:
        report = store.status()
    finally:
        store.close()
    if args.json:
        _common.emit_json(report.to_dict())
    else:
        print(report.to_text(), end="")
    return 0
