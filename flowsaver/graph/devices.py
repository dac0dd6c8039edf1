"""Device strings: ``tf.device("/cpu:0")`` is recorded as ``/device:CPU:0``.

flowsaver runs every op on the CPU; devices are kept only so that GraphDefs and
metagraphs say what TensorFlow's would. A spec has optional job, replica, task and
device (type and index) parts; an inner ``tf.device`` overrides the parts it names.
"""
from __future__ import annotations

import re

_PART = re.compile(r"^(job|replica|task|device):(.*)$")
_SHORT = re.compile(r"^(cpu|gpu|tpu|CPU|GPU|TPU)(?::(\*|\d+))?$")
_FIELDS = ("job", "replica", "task", "device")


def parse(spec: str) -> dict:
    """The named parts of a device string; ValueError for a malformed one."""
    parts: dict = {}
    for piece in (p for p in (spec or "").split("/") if p):
        short = _SHORT.match(piece)
        if short:
            parts["device"] = f"{short.group(1).upper()}:{short.group(2) or '*'}"
            continue
        match = _PART.match(piece)
        if not match:
            raise ValueError(f"Unknown attribute: '{piece}' in '{spec}'")
        key, value = match.groups()
        if key == "device":
            kind, _, index = value.partition(":")
            value = f"{kind.upper() if kind.lower() in ('cpu', 'gpu', 'tpu') else kind}" + \
                (f":{index}" if index else "")
        parts[key] = value
    return parts


def to_string(parts: dict) -> str:
    return "".join(f"/{key}:{parts[key]}" for key in _FIELDS if key in parts)


def canonical(spec: str) -> str:
    return to_string(parse(spec))


def merge(outer: str, inner) -> str:
    """``inner`` inside ``outer``: inner's parts win; ``None`` clears everything."""
    if inner is None:
        return ""
    merged = parse(outer)
    merged.update(parse(inner))
    return to_string(merged)
