"""``sei-bridge replay``: put quarantined items back to work after their cause was fixed
(a mapping added, a série fixed in SEI, an extension allowed)."""

from __future__ import annotations

import argparse

from sei_bridge import errors
from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--protocolo", help="every quarantined item of this SP156 request")
    which.add_argument(
        "--reason", help="every quarantined item whose reason starts with this text (e.g. unmapped)"
    )
    which.add_argument("--action", type=int, help="one ledger action, by id (see status)")
    which.add_argument("--all", action="store_true", help="every quarantined item")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app

    store = app.open_store(_common.settings_from(args))
    try:
        count = store.replay(
            protocolo=args.protocolo,
            reason_prefix=args.reason if args.reason is not None else ("" if args.all else None),
            action_id=args.action,
        )
    finally:
        store.close()
    if count == 0:
        raise errors.SeiBridgeError("nothing in quarantine matched: see 'sei-bridge status'")
    print(f"{count} item(s) back to work; the next sync or scheduled dispatch runs them")
    return 0
