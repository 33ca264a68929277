"""``sei-bridge resolve``: record what a person established about an effect whose outcome SEI
could not prove (an UNCERTAIN or NEEDS_PERSON action)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sei_bridge import chars
from sei_bridge.commands import _common

#: SEI's longest process or document number (NumeroProtocolo: 40 characters)
_MAX_NUMERO = 40
_MAX_ACTOR = 200


def _text(max_length: int, what: str) -> Callable[[str], str]:
    """An argparse type: ``what`` as typed, refused (one line, exit 2) when longer than
    ``max_length`` or holding a control character (it goes to SIGRC, SEI and the audit trail)."""

    def parse(value: str) -> str:
        text = value.strip()
        found = chars.first_control(text)
        if found is not None:
            raise argparse.ArgumentTypeError(
                f"{what} holds the control character {chars.describe(found)}"
            )
        if not text or len(text) > max_length:
            raise argparse.ArgumentTypeError(f"{what} must be 1 to {max_length} characters")
        return text

    return parse


def _sei_id(value: str) -> str:
    if not (value.isascii() and value.isdigit()) or len(value) > 20:
        raise argparse.ArgumentTypeError("a SEI id is a number of up to 20 digits")
    return value


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
    parser.add_argument(
        "--processo",
        type=_text(_MAX_NUMERO, "a process number"),
        help="ProcedimentoFormatado found in SEI",
    )
    parser.add_argument("--id-procedimento", type=_sei_id, help="IdProcedimento found in SEI")
    parser.add_argument(
        "--documento",
        type=_text(_MAX_NUMERO, "a document number"),
        help="DocumentoFormatado found in SEI",
    )
    parser.add_argument("--id-documento", type=_sei_id, help="IdDocumento found in SEI")
    parser.add_argument(
        "--actor",
        required=True,
        type=_text(_MAX_ACTOR, "the actor"),
        help="who established it (for the audit trail)",
    )


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
