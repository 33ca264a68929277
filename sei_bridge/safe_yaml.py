"""The one way sei-bridge reads a YAML file: the settings file, mapping files, the schedule.

PyYAML's ``safe_load`` builds only plain values, but it still expands aliases: a file of a few
hundred bytes whose anchors refer to each other (the "billion laughs" of YAML) becomes a value
of billions of items, which took 30 s and 1.6 GB before a MemoryError when an error message
turned it into a string. :func:`load_file` therefore

- reads at most :data:`MAX_BYTES` (1 MiB: our largest file is a few KiB) from a regular file,
  before any parsing;
- refuses every anchor (``&name``) and alias (``*name``, ``<<: *name``), naming the line:
  none of our files needs them, and writing the value out is always possible;
- refuses nesting deeper than :data:`MAX_DEPTH` (the pure-Python composer recurses);
- refuses a key given twice in one mapping (PyYAML keeps the last one silently);
- reports a syntax error by line, column and PyYAML's short problem text only, never with
  PyYAML's snippet of the offending line (which may hold a secret of the settings file).

:func:`excerpt` is how a message quotes a value from such a file: short, control characters
escaped, never the whole value.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from sei_bridge import chars, errors

__all__ = ["EXCERPT_LIMIT", "MAX_BYTES", "MAX_DEPTH", "excerpt", "load_file", "load_text"]

#: the largest YAML file read (bytes); checked before parsing
MAX_BYTES = 1024 * 1024
#: the deepest nesting of sequences and mappings accepted
MAX_DEPTH = 64
#: how many characters of a value a message quotes at most
EXCERPT_LIMIT = 40
#: how many characters of PyYAML's problem text a message keeps
_PROBLEM_LIMIT = 100


class _Refused(yaml.MarkedYAMLError):
    """A construct this loader does not accept (anchor, alias, too deep)."""


class _Duplicate(yaml.MarkedYAMLError):
    """A mapping gives the same key twice (PyYAML would keep the last silently)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases, limits nesting, and refuses a key given
    twice in one mapping (a service mapped twice in one file, a setting set twice)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: PyYAML's own error follows
                if duplicate:
                    raise _Duplicate(
                        problem=f"the key {excerpt(key)} is given twice",
                        problem_mark=key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(problem="aliases are not allowed", problem_mark=mark)
        if getattr(event, "anchor", None) is not None:
            raise _Refused(problem="anchors are not allowed", problem_mark=mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    problem=f"nesting is deeper than {MAX_DEPTH} levels",
                    problem_mark=mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def excerpt(value: object, limit: int = EXCERPT_LIMIT) -> str:
    """At most ``limit`` characters of ``repr``-like text for ``value``, control characters
    escaped, ``…`` when cut: what a message may quote of a value read from a file.

    Only the first ``limit`` characters of a string are looked at, and containers are never
    turned into text whole (only their type and size), so this costs the same for any value.
    """
    if isinstance(value, str):
        shown = value[: limit + 1]
        text = repr(shown[:limit]) + ("…" if len(shown) > limit else "")
    elif isinstance(value, dict | list | tuple | set):
        text = f"a {type(value).__name__} of {len(value)} item(s)"
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        text = f"an integer of {value.bit_length()} bits"
    elif value is None or isinstance(value, bool | int | float):
        text = repr(value)
        if len(text) > limit:
            text = text[:limit] + "…"
    else:
        text = f"a {type(value).__name__}"
    return chars.escape_controls(text)


def _position(mark: Any) -> str:
    if mark is None:
        return ""
    return f" at line {mark.line + 1}, column {mark.column + 1}"


def load_text(text: str, *, name: str, error: type[errors.ConfigurationError]) -> Any:
    """Parse YAML ``text`` (named ``name`` in messages) with the rules of this module."""
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _Refused as exc:
        problem = exc.problem or "refused"
        raise error(
            f"{name}: {problem}{_position(exc.problem_mark)}: write the value out in full "
            "(no &anchor, *alias or <<: merge)"
        ) from None
    except _Duplicate as exc:
        raise error(
            f"{name}: {exc.problem}{_position(exc.problem_mark)}: keep one of them"
        ) from None
    except yaml.MarkedYAMLError as exc:
        problem = chars.escape_controls(" ".join((exc.problem or "syntax error").split()))
        raise error(
            f"{name}: is not valid YAML{_position(exc.problem_mark)} "
            f"({problem[:_PROBLEM_LIMIT]}): fix the syntax"
        ) from None
    except yaml.YAMLError:
        raise error(f"{name}: is not valid YAML: fix the syntax") from None
    except ValueError:  # e.g. an integer of more digits than Python converts
        raise error(
            f"{name}: holds a value YAML cannot convert (a number too long?): fix it"
        ) from None


def load_file(path: Path, *, error: type[errors.ConfigurationError]) -> Any:
    """Read and parse the YAML file ``path`` with the rules of this module; every problem is
    one ``error`` naming the file (and the line, when there is one) and the fix."""
    name = chars.escape_controls(str(path))
    data = _read(path, name, error=error)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{name}: is not UTF-8 text: save it as UTF-8") from None
    return load_text(text, name=name, error=error)


def _read(path: Path, name: str, *, error: type[errors.ConfigurationError]) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"{name}: cannot be read ({exc.strerror}): check the path") from None
    except ValueError:  # an embedded NUL
        raise error("a file path holds a NUL character: check the path") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{name}: is not a regular file: give the path of a YAML file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"{name}: cannot be read ({exc.strerror}): check the file") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise error(
            f"{name}: is larger than {MAX_BYTES // 1024} KiB: this is not a sei-bridge "
            "YAML file (check the path)"
        )
    return data
