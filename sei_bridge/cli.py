"""The ``sei-bridge`` command.

Each subcommand lives in the module that owns its concept and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``. This module only wires them together and is
the command boundary: an expected :class:`~sei_bridge.errors.SeiBridgeError` becomes a one-line
message and a non-zero exit, never a traceback.

A subcommand's module is imported only when that subcommand is the one given, so ``sei-bridge
--help`` imports none of them (nor the engine, zeep, SQLAlchemy or the sandboxes) and ``sei-bridge
status`` imports neither the other commands nor the sandboxes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, cast

from sei_bridge import __version__, chars, errors, logs

__all__ = ["main"]

log = logging.getLogger(__name__)


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


#: (command, module implementing it, one-line help). Sandbox commands sit under ``sandbox``.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "sei_bridge.commands.demo", "run the whole product on embedded defaults"),
    ("run", "sei_bridge.commands.run", "the scheduler daemon (jobs/schedule.yaml)"),
    ("sync", "sei_bridge.commands.sync", "one full pass (poll, plan, dispatch) and exit"),
    ("status", "sei_bridge.commands.status", "counts by state, quarantine, uncertain effects"),
    ("replay", "sei_bridge.commands.replay", "re-run quarantined items after the fix"),
    ("resolve", "sei_bridge.commands.resolve", "record what a person found about an effect"),
    ("reconcile", "sei_bridge.commands.reconcile", "three-way SIGRC / ledger / SEI report"),
    ("mappings", "sei_bridge.commands.mappings", "check the mapping files"),
    ("audit", "sei_bridge.commands.audit", "verify the audit trail"),
)
SANDBOX_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("sei", "sei_bridge.sandboxes.sei.cli", "run the SEI sandbox (a fake SEI server over HTTP)"),
    ("sigrc", "sei_bridge.sandboxes.sigrc.cli", "run the SIGRC simulator (feed API over HTTP)"),
    ("proxy", "sei_bridge.sandboxes.proxy_cli", "a fault-injecting proxy in front of any SEI"),
)


class _CommandParser(argparse.ArgumentParser):
    """The parser of one subcommand: imports the subcommand's module, and takes its arguments,
    only when this subcommand is the one being parsed (``module`` None: a plain parser, such as
    ``sandbox``'s, whose own subcommands are the lazy ones)."""

    def __init__(self, *args: Any, module: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._module = module

    def parse_known_args(  # argparse calls this on the chosen subcommand's parser
        self, args: Iterable[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        if self._module is not None:
            command = cast(_Command, importlib.import_module(self._module))
            self._module = None
            command.add_arguments(self)
            self.set_defaults(_run=command.run)
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sei-bridge",
        description="Records SP156 (SIGRC) requests and interactions as processos and "
        "documentos in SEI. Every option also reads its SEI_BRIDGE_* environment variable.",
    )
    parser.add_argument("--version", action="version", version=f"sei-bridge {__version__}")
    parser.add_argument(
        "--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR (env SEI_BRIDGE_LOG_LEVEL)"
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser
    )
    for name, module, help_text in COMMANDS:
        sub.add_parser(name, help=help_text, description=help_text, module=module)
    sandbox = sub.add_parser("sandbox", help="run a local stand-in for SEI or SIGRC")
    sandbox_sub = sandbox.add_subparsers(
        dest="sandbox", metavar="SYSTEM", required=True, parser_class=_CommandParser
    )
    for name, module, help_text in SANDBOX_COMMANDS:
        sandbox_sub.add_parser(name, help=help_text, description=help_text, module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from sei_bridge import config  # after parse_args: --help needs none of it

    level_text, format_text = config.logging_choice()
    given = "--log-level" if args.log_level else "SEI_BRIDGE_LOG_LEVEL"
    try:
        level = config.parse_log_level(args.log_level or level_text)
    except ValueError:
        print(
            f"sei-bridge: error: {given} is not a log level: use one of "
            f"{', '.join(config.LOG_LEVELS)}",
            file=sys.stderr,
        )
        return 2
    log_format = format_text.strip().lower() or "text"
    if log_format not in logs.FORMATS:
        print("sei-bridge: error: SEI_BRIDGE_LOG_FORMAT must be text or json", file=sys.stderr)
        return 2
    logs.configure(level, log_format)
    try:
        return int(args._run(args))
    except errors.SeiBridgeError as exc:
        print(f"sei-bridge: error: {chars.escape_controls(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
