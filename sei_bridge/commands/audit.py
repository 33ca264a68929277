"""``sei-bridge audit verify``: recompute the audit trail's hash chain."""

from __future__ import annotations

import argparse

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="verify that no audit entry was changed or removed")
    _common.add_database_argument(verify)
    verify.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app

    store = app.open_store(_common.settings_from(args), read_only=True)
    try:
        result = store.audit_verify()
    finally:
        store.close()
    if args.json:
        _common.emit_json(result.to_dict())
    else:
        print(result.to_text(), end="")
    return 0 if result.ok else 1
