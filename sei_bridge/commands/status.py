"""``sei-bridge status [--json]``: counts by state, the quarantine with reasons, and what waits
for a person. Reads only the store: works while SEI or SIGRC are down."""

from __future__ import annotations

import argparse
from pathlib import Path

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app, mapping

    settings = _common.settings_from(args)
    store = app.open_store(settings)
    try:
        report = store.status()
    finally:
        store.close()
    # a running daemon logs (and exports as sei_bridge_mappings_info) the version it loaded
    version = mapping.folder_version(Path(settings.mappings))
    if args.json:
        _common.emit_json({**report.to_dict(), "mappings_version": version})
    else:
        print(report.to_text(), end="")
        print(f"mappings: version {version or 'unreadable'} in {settings.mappings}")
    return 0
