"""JSON encoding of the SIGRC models, so an inbox event can be rebuilt exactly as it was read.

The feed hands the engine parsed :class:`~sei_bridge.sigrc.models.Evento` objects, not the raw
JSON, so the store keeps the event in this encoding: every dataclass field by name (SIGRC's own
names), enums by value, date-times in ISO 8601 with their offset, tuples as lists. Decoding is
driven by the dataclasses' type hints, so a field added to the models is carried without touching
this module; a payload written by an older version decodes as long as new fields have defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

from sei_bridge import errors
from sei_bridge.sigrc import models

__all__ = ["decode", "decode_evento", "encode", "encode_evento"]

_T = typing.TypeVar("_T")


def encode(value: Any) -> Any:
    """A JSON-ready form of a model value (dataclass, enum, date-time, tuple, scalar)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def encode_evento(evento: models.Evento) -> dict[str, Any]:
    """The stored form of an Evento."""
    encoded = encode(evento)
    assert isinstance(encoded, dict)
    return encoded


def decode_evento(payload: Mapping[str, Any]) -> models.Evento:
    """Rebuild an Evento from :func:`encode_evento`'s output.

    Raises :class:`~sei_bridge.errors.StoreError` naming the field when the payload does not fit
    (a corrupted row); the message never carries the value.
    """
    return decode(models.Evento, payload)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class _DecodeError(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


def decode(cls: type[_T], data: Any) -> _T:
    """Decode ``data`` into ``cls`` (a model dataclass); see :func:`decode_evento`."""
    try:
        return typing.cast(_T, _decode(cls, data, cls.__name__))
    except _DecodeError as exc:
        raise errors.StoreError(
            f"stored payload does not decode as {cls.__name__} at {exc}: the row was altered "
            "outside sei-bridge or written by an incompatible version"
        ) from None


def _decode(hint: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if data is None:
            if len(options) < len(typing.get_args(hint)):
                return None
            raise _DecodeError(path, "missing")
        if len(options) != 1:
            raise _DecodeError(path, "ambiguous union type in the model")
        return _decode(options[0], data, path)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(data, list):
            raise _DecodeError(path, "not a list")
        return tuple(_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data))
    if origin in (dict, Mapping) or hint is Any:
        return data
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, data, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except ValueError:
            raise _DecodeError(path, f"not a {hint.__name__}") from None
    if hint is dt.datetime or hint is dt.date:
        if not isinstance(data, str):
            raise _DecodeError(path, "not an ISO 8601 string")
        try:
            return hint.fromisoformat(data)
        except ValueError:
            raise _DecodeError(path, "not an ISO 8601 string") from None
    if hint is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if hint in (str, int, bool):
        # bool is an int in Python: insist on the exact type both ways
        if type(data) is not hint:
            raise _DecodeError(path, f"not a {hint.__name__}")
        return data
    raise _DecodeError(path, f"unsupported type {hint!r} in the model")


def _decode_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise _DecodeError(path, "not an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _DecodeError(f"{path}.{f.name}", "missing")
    return cls(**kwargs)
