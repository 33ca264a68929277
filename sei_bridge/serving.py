"""What the two fake servers' commands (``sandbox sei``, ``sandbox sigrc``) share: binding a
port with a one-line error, serving until SIGINT or SIGTERM, and running on their own
(``python -m ...``) with sei-bridge's one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TypeVar

from sei_bridge import errors

__all__ = ["listening", "standalone", "until_signalled"]

_T = TypeVar("_T")


def listening(start: Callable[[], _T], host: str, port: int) -> _T:
    """``start()`` (a server binding ``host:port``); a port that cannot be bound becomes a
    ConfigurationError saying what to do."""
    try:
        return start()
    except OSError as exc:
        raise errors.ConfigurationError(
            f"cannot listen on {host}:{port} ({exc.strerror}): "
            "choose another --port (0 picks a free one)"
        ) from exc


@contextlib.contextmanager
def until_signalled() -> Iterator[threading.Event]:
    """An Event that SIGINT or SIGTERM sets while the block runs (the handlers are installed
    only from the main thread, and the previous ones restored at the end)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def standalone(
    prog: str,
    description: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv`` and ``run`` a command outside ``sei-bridge``: a SeiBridgeError becomes
    one ``sei-bridge: error:`` line and exit status 2, as under ``sei-bridge``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except errors.SeiBridgeError as exc:
        print(f"sei-bridge: error: {exc}", file=sys.stderr)
        return 2
