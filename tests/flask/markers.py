"""Marker JSON: a plain-JSON picture of the Python values a Flask session can hold.

The peer app and the vector generator show decoded sessions this way, and accept the
same notation on input, so a test written in any language can say "a tuple of 1 and 2"
without speaking Python:

==========================  ===================================================
Python value                marker JSON
==========================  ===================================================
None, bool, str, list       itself
int in signed 64 bits       a JSON number
int outside that range      ``{"$int": "<decimal digits>"}``
finite float                a JSON number
NaN, inf, -inf              ``{"$float": "NaN" | "Infinity" | "-Infinity"}``
tuple                       ``{"$tuple": [...]}``
bytes                       ``{"$bytes": "<standard base64 with padding>"}``
Markup                      ``{"$markup": "<html>"}``
uuid.UUID                   ``{"$uuid": "<canonical dashed form>"}``
datetime.datetime           ``{"$datetime": "<datetime.isoformat()>"}``
dict                        an object, keys in the dict's order; a dict with
                            exactly one key that starts with ``$`` is wrapped
                            as ``{"$dict": {...}}`` so it never reads as a marker
==========================  ===================================================

On input a ``$datetime`` without an offset makes a naive datetime, and an unknown
``$`` name is an error (:class:`MarkerError`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import uuid

from markupsafe import Markup

_I64 = range(-(2**63), 2**63)
_FLOAT_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class MarkerError(ValueError):
    """The marker document does not describe a Python value."""


def dump(value):
    """Python session value -> marker JSON (a structure of plain JSON types)."""
    if value is None or isinstance(value, (bool, str)) and not hasattr(value, "__html__"):
        return value
    if hasattr(value, "__html__"):
        return {"$markup": str(value.__html__())}
    if isinstance(value, int):
        return int(value) if value in _I64 else {"$int": str(int(value))}
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return {"$float": "NaN"}
        return {"$float": "Infinity" if value > 0 else "-Infinity"}
    if isinstance(value, tuple):
        return {"$tuple": [dump(item) for item in value]}
    if isinstance(value, list):
        return [dump(item) for item in value]
    if isinstance(value, dict):
        out = {str(k): dump(v) for k, v in value.items()}
        if len(out) == 1 and next(iter(out)).startswith("$"):
            return {"$dict": out}
        return out
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"no marker for a {type(value).__name__}")


def load(doc):
    """Marker JSON -> the Python value it describes."""
    if isinstance(doc, list):
        return [load(item) for item in doc]
    if isinstance(doc, dict):
        if len(doc) == 1:
            ((name, arg),) = doc.items()
            if name.startswith("$"):
                return _load_marker(name, arg)
        return {k: load(v) for k, v in doc.items()}
    if doc is None or isinstance(doc, (bool, int, float, str)):
        return doc
    raise MarkerError(f"not a JSON value: {type(doc).__name__}")


def _need(arg, kind, name):
    if not isinstance(arg, kind):
        raise MarkerError(f"{name} takes a {kind.__name__}, got {type(arg).__name__}")
    return arg


def _load_marker(name, arg):
    if name == "$dict":
        return {k: load(v) for k, v in _need(arg, dict, name).items()}
    if name == "$tuple":
        return tuple(load(item) for item in _need(arg, list, name))
    text = _need(arg, str, name)
    try:
        if name == "$bytes":
            return base64.b64decode(text, validate=True)
        if name == "$markup":
            return Markup(text)
        if name == "$uuid":
            return uuid.UUID(text)
        if name == "$datetime":
            return dt.datetime.fromisoformat(text)
        if name == "$int":
            return int(text)
        if name == "$float":
            return _FLOAT_NAMES[text]
    except (ValueError, KeyError, binascii.Error) as exc:
        raise MarkerError(f"bad {name} argument {text!r}: {exc}") from exc
    raise MarkerError(f"unknown marker {name!r}")


def dumps(value) -> str:
    """Marker JSON text of a Python value (key order kept, non-ASCII kept)."""
    return json.dumps(dump(value), ensure_ascii=False)
