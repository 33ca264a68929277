"""``sei-bridge audit verify`` and ``audit export``: the auditors' tools for the hash-chained trail.

Both open the store read-only (they never write, and work on a read-only file or role);
``audit verify --file EXCERPT`` needs no database at all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sei_bridge.commands import _common

if TYPE_CHECKING:
    from sei_bridge.audit import AuditEntry
    from sei_bridge.audit_excerpt import ExcerptHeader

#: exit status of ``audit verify`` when the trail or the excerpt is broken
EXIT_BROKEN = 1


def _time(text: str) -> dt.datetime:
    """An ISO 8601 time with its zone, or a date (00:00 UTC that day)."""
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-12-01) or a time with its zone "
            "(2026-12-01T09:00:00-03:00)"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone: add it (2026-12-01T09:00:00-03:00, or Z for UTC)"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify",
        help="verify that no audit entry was edited, removed, inserted or reordered "
        "(read-only); with --file, an exported excerpt, without a database",
    )
    _common.add_database_argument(verify)
    verify.add_argument(
        "--file",
        type=Path,
        default=None,
        help="verify this excerpt (from `audit export`) instead of the database",
    )
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    export = sub.add_parser(
        "export",
        help="write a period of the trail as JSON lines that verify on their own (read-only)",
    )
    _common.add_database_argument(export)
    export.add_argument(
        "--from",
        dest="start",
        type=_time,
        default=None,
        help="first entry at or after this time (ISO 8601 with zone; a date is 00:00 UTC)",
    )
    export.add_argument(
        "--to",
        dest="end",
        type=_time,
        default=None,
        help="last entry before this time (same forms as --from)",
    )
    export.add_argument(
        "--output", type=Path, default=None, help="write the excerpt here (default: stdout)"
    )


def run(args: argparse.Namespace) -> int:
    if args.audit_command == "export":
        return _export(args)
    if args.file is not None:
        return _verify_file(args)
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
    return 0 if result.ok else EXIT_BROKEN


def _verify_file(args: argparse.Namespace) -> int:
    from sei_bridge import audit_excerpt, errors

    try:
        with args.file.open(encoding="utf-8", newline="\n") as lines:
            result = audit_excerpt.verify_lines(lines)
    except UnicodeDecodeError:
        raise errors.ConfigurationError(
            f"{args.file} is not UTF-8 text: not a sei-bridge audit excerpt"
        ) from None
    except OSError as exc:
        raise errors.ConfigurationError(
            f"cannot read the excerpt {args.file}: {exc.strerror or exc}"
        ) from None
    if args.json:
        _common.emit_json(result.to_dict())
    else:
        print(result.to_text(), end="")
    return 0 if result.ok else EXIT_BROKEN


def _export(args: argparse.Namespace) -> int:
    from sei_bridge import app, errors

    if args.start is not None and args.end is not None and args.start >= args.end:
        raise errors.ConfigurationError("--from must be before --to")
    store = app.open_store(_common.settings_from(args), read_only=True)
    try:
        with store.audit_excerpt(start=args.start, end=args.end) as (header, entries):
            if args.output is None:
                _write(sys.stdout, header, entries)
            else:
                _write_file(args.output, header, entries)
    finally:
        store.close()
    if args.output is not None:
        span = (
            "no entries"
            if header.first_id is None
            else f"entries {header.first_id}..{header.last_id} ({header.entries})"
        )
        print(
            f"{args.output}: {span}; links to prev hash {header.prev_hash}, ends at last hash "
            f"{header.last_hash}; verify with `sei-bridge audit verify --file {args.output}`"
        )
    return 0


def _write(
    out: IO[str],
    header: ExcerptHeader,
    entries: Iterator[AuditEntry],
) -> None:
    from sei_bridge import audit_excerpt

    out.write(audit_excerpt.header_line(header))
    for entry in entries:
        out.write(audit_excerpt.entry_line(entry))


def _write_file(
    path: Path,
    header: ExcerptHeader,
    entries: Iterator[AuditEntry],
) -> None:
    """Write to a temporary file beside ``path`` and rename it: an interrupted export never
    leaves a partial excerpt under the name asked for."""
    from sei_bridge import errors

    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as out:
            _write(out, header, entries)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise errors.ConfigurationError(
            f"cannot write the excerpt to {path}: {exc.strerror or exc}"
        ) from None
