"""``sei-bridge indicators [--since T --until T] [--json|--csv|--html FILE]``: per service and
per unit, requests received, processes opened and finalized, times to open and to "SP 156
Finalizado", the share finalized within prazo_em and the backlog, each indicator with its
level. Reads only the store (and the mapping files for the thresholds)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from sei_bridge.commands import _common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument(
        "--since",
        default=os.environ.get("SEI_BRIDGE_INDICATORS_SINCE"),
        help="first registration time counted, ISO 8601 (env SEI_BRIDGE_INDICATORS_SINCE; "
        "default: the beginning)",
    )
    parser.add_argument(
        "--until",
        default=os.environ.get("SEI_BRIDGE_INDICATORS_UNTIL"),
        help="end of the period, ISO 8601 (env SEI_BRIDGE_INDICATORS_UNTIL; default: now)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable output")
    out.add_argument("--csv", action="store_true", help="one CSV row per service and unit")
    out.add_argument("--html", type=Path, default=None, metavar="FILE", help="write a page")


def _moment(text: str | None, flag: str) -> dt.datetime | None:
    from sei_bridge import errors

    if text is None or not text.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise errors.ConfigurationError(
            f"{flag} is not an ISO 8601 date or date-time: write e.g. 2026-01-31 or "
            "2026-01-31T12:00:00-03:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app, errors, indicators, indicators_report, mapping

    since = _moment(args.since, "--since")
    until = _moment(args.until, "--until") or dt.datetime.now(dt.UTC)
    if since is not None and since >= until:
        raise errors.ConfigurationError("--since must be before --until: swap or fix them")
    settings = _common.settings_from(args)
    folder = Path(settings.mappings)
    mappings = mapping.load_mappings(folder) if folder.is_dir() else None
    store = app.open_store(settings, read_only=True)
    try:
        rows = store.indicators(since=since, until=until)
    finally:
        store.close()
    lines = indicators.build_lines(
        rows,
        thresholds=None if mappings is None else mappings.indicator_thresholds(),
        defaults=indicators.DEFAULT_THRESHOLDS
        if mappings is None
        else mappings.default_indicator_thresholds(),
    )
    if args.json:
        _common.emit_json(indicators_report.to_dict(lines, since=since, until=until))
    elif args.csv:
        sys.stdout.write(indicators_report.to_csv(lines))
    elif args.html is not None:
        page = indicators_report.to_html(lines, since=since, until=until)
        try:
            args.html.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise errors.ConfigurationError(
                f"--html {args.html} cannot be written ({exc.strerror}): give a writable path"
            ) from None
        print(f"indicators written to {args.html}")
    else:
        sys.stdout.write(indicators_report.to_text(lines, since=since, until=until))
    return 0
