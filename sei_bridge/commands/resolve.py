"""``sei-bridge resolve``: record what a person established about an effect whose outcome SEI
could not prove (an UNCERTAIN or NEEDS_PERSON action)."""

from __future__ import annotations

import argparse

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument("action", type=int, help="the ledger action id (see status)")
    outcome = parser.add_mutually_exclusive_group(required=True)
    outcome.add_argument(
        "--done",
        action="store_true",
        help="the effect exists in SEI: give its ids with --processo/--id-procedimento or "
        "--documento/--id-documento",
    )
    outcome.add_argument(
        "--absent", action="store_true", help="the effect is not in SEI: send it again"
    )
    parser.add_argument("--processo", help="ProcedimentoFormatado found in SEI")
    parser.add_argument("--id-procedimento", help="IdProcedimento found in SEI")
    parser.add_argument("--documento", help="DocumentoFormatado found in SEI")
    parser.add_argument("--id-documento", help="IdDocumento found in SEI")
    parser.add_argument("--actor", required=True, help="who established it (for the audit trail)")


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app

    result = {
        key: value
        for key, value in (
            ("procedimento_formatado", args.processo),
            ("id_procedimento", args.id_procedimento),
            ("documento_formatado", args.documento),
            ("id_documento", args.id_documento),
        )
        if value
    }
    store = app.open_store(_common.settings_from(args))
    try:
        action = store.resolve(
            args.action, outcome="done" if args.done else "absent", result=result, actor=args.actor
        )
    finally:
        store.close()
    print(
        f"action {action.id} ({action.kind.value}, {action.protocolo}) is now {action.state.value}"
    )
    return 0
