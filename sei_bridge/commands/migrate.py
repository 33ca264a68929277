"""``sei-bridge migrate``: create the store's schema or upgrade it to this release's revision.

The only command (besides ``demo``, on the database it makes for itself) that changes the
schema: every other one refuses a database that is not current. Idempotent, and safe when two
processes run it at once (PostgreSQL: an advisory lock; SQLite: its write lock). A SQLite file
that does not exist is created, readable by its owner only.
"""

from __future__ import annotations

import argparse

from sei_bridge.commands import _common

#: exit status of ``migrate --json`` when the database cannot be migrated by this release
#: (newer, not sei-bridge's, a missing PostgreSQL schema); without --json it is the usual
#: one-line error and exit 2
EXIT_REFUSED = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app, errors

    before, after = app.migrate_store(_common.settings_from(args))
    if args.json:
        _common.emit_json({"before": before.to_dict(), "after": after.to_dict()})
        return 0 if after.ok else EXIT_REFUSED
    if not after.ok:
        raise errors.SchemaError(str(after.problem()), state=after.state.value)
    if before.ok:
        print(
            f"the database {after.database} was already current (schema revision "
            f"{', '.join(after.heads)}): nothing to do"
        )
    else:
        start = ", ".join(before.revisions) or "empty"
        print(
            f"the database {after.database} migrated from {start} to schema revision "
            f"{', '.join(after.heads)}"
        )
    return 0
