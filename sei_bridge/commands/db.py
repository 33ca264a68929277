"""``sei-bridge db check``: where the database stands against this release's schema, without
changing anything (opened read-only; a missing SQLite file is not created).

Exit status, one per state, so a deployment script can act on it: 0 current, 3 older (run
``sei-bridge migrate``), 4 newer (upgrade sei-bridge), 5 empty, 6 missing, 7 not a sei-bridge
database; 2, as for every command, when the database cannot be reached.
"""

from __future__ import annotations

import argparse

from sei_bridge.commands import _common

#: exit status of ``db check`` per schema state (:class:`~sei_bridge.store.lifecycle.SchemaState`)
EXIT_STATUS = {
    "current": 0,
    "older": 3,
    "newer": 4,
    "empty": 5,
    "missing": 6,
    "unversioned": 7,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="is the database current, older (run migrate), newer (upgrade sei-bridge), "
        "empty or missing? (exit 0, 3, 4, 5, 6; 7: not a sei-bridge database)",
    )
    _common.add_database_argument(check)
    check.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app

    status = app.schema_status(_common.settings_from(args))
    if args.json:
        _common.emit_json(status.to_dict())
    else:
        print(status.to_text(), end="")
    return EXIT_STATUS[status.state.value]
