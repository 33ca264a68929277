"""``sei-bridge mappings check``: validate the mapping files, and (unless ``--offline``) check every
id they name against SEI's own catalogs."""

from __future__ import annotations

import argparse
from pathlib import Path

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mappings_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate mappings/*.yaml (and against SEI's catalogs)")
    check.add_argument(
        "--mappings", default=None, help="folder of mapping files (env SEI_BRIDGE_MAPPINGS)"
    )
    check.add_argument(
        "--offline", action="store_true", help="check the files only, do not ask SEI"
    )


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import mapping
    from sei_bridge.sei.client import SeiClient

    settings = _common.settings_from(args, mappings=args.mappings)
    mappings = mapping.load_mappings(Path(settings.mappings))
    print(f"{settings.mappings}: {len(mappings.servicos)} service(s) mapped, files valid")
    if args.offline:
        return 0
    settings.require("sei_url", "sei_sigla_sistema", "sei_identificacao_servico")
    problems = mapping.check_against_sei(mappings, SeiClient.from_settings(settings))
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        return 1
    print("every unit, process type, série and hipótese legal exists in SEI")
    return 0
