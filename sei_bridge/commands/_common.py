"""What every command shares: settings from the environment plus command-line overrides."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sei_bridge import chars, config

__all__ = ["add_database_argument", "emit_json", "settings_from"]


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL of the store (env SEI_BRIDGE_DATABASE_URL; default: "
        f"{config.DEFAULT_DATABASE_URL})",
    )


def settings_from(args: argparse.Namespace, **extra: Any) -> config.Settings:
    """Settings from SEI_BRIDGE_* variables, with the command's flags taking precedence."""
    overrides = {"database_url": getattr(args, "database_url", None), **extra}
    return config.load_settings(overrides=overrides)


def emit_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    # json escapes C0 controls itself; DEL, C1 (0x9b is a CSI), bidi overrides and line
    # separators only occur inside strings, where \uXXXX is the same JSON value
    sys.stdout.write(chars.escape_controls_json(text))
    sys.stdout.write("\n")
