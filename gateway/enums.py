"""Enum names as the documents write them: without the type prefix (`DONE` for TASK_STATUS_DONE)."""

from __future__ import annotations

import re

from google.protobuf.descriptor import EnumDescriptor

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def enum_prefix(enum: EnumDescriptor) -> str:
    """The buf-style value prefix of an enum: TaskStatus -> "TASK_STATUS_"."""
    return _WORD_BOUNDARY.sub("_", enum.name).upper() + "_"


def short_name(enum: EnumDescriptor, name: str) -> str:
    """TASK_STATUS_DONE -> DONE; a name without the prefix is returned as is."""
    prefix = enum_prefix(enum)
    return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else name


def parse_enum(enum: EnumDescriptor, text: str) -> int | None:
    """The number of a value named case-insensitively, with or without the prefix, or by its number."""
    wanted = text.strip().upper()
    prefix = enum_prefix(enum)
    for candidate in (wanted, prefix + wanted):
        value = enum.values_by_name.get(candidate)
        if value is not None:
            return value.number
    if re.fullmatch(r"-?\d+", wanted) and int(wanted) in enum.values_by_number:
        return int(wanted)
    return None
