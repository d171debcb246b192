"""FieldPath: the field an error names, as segments (names and list indices) rather than text.

A domain error carries FieldPaths; they become the `google.rpc.BadRequest.FieldViolation.field` string
(`records[3].data.price`) only at the edge. So a stream shifting `records[i]` by its offset is an addition to
one index, and the gateway naming `records` as the caller's `items` is a mapping of one segment, with no text
search that could also match a user's key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One clean step of a path: `.name` (or a leading `name`) or `[index]` (no leading zeros, so it renders back).
_NAME = re.compile(r"[^.\[\]]+")
_INDEX = re.compile(r"\[(0|[1-9][0-9]*)\]")


class Verbatim(str):
    """The rest of a parsed path that is not clean names and indices (a user's key holding `.` or `[`): kept
    as it was written, so parsing and rendering give back the same text."""

    __slots__ = ()


Segment = str | int


@dataclass(frozen=True)
class FieldPath:
    segments: tuple[Segment, ...] = ()

    @classmethod
    def of(cls, *segments: Segment) -> FieldPath:
        return cls(tuple(segments))

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """The path a string names; `str(FieldPath.parse(text)) == text` for any text."""
        segments: list[Segment] = []
        pos = 0
        while pos < len(text):
            if (index := _INDEX.match(text, pos)) is not None and segments:
                segments.append(int(index.group(1)))
                pos = index.end()
                continue
            start = pos + 1 if segments and text[pos] == "." else pos
            name = _NAME.match(text, start)
            if name is None or (start == pos and segments):
                segments.append(Verbatim(text[pos:]))
                break
            segments.append(name.group())
            pos = name.end()
        return cls(tuple(segments))

    def __truediv__(self, child: Segment | FieldPath) -> FieldPath:
        """This path extended by a name, an index or a whole (relative) path."""
        tail = child.segments if isinstance(child, FieldPath) else (child,)
        return FieldPath(self.segments + tail)

    def shifted(self, name: str, offset: int) -> FieldPath:
        """`name[i]...` becomes `name[i + offset]...` (a stream's batch names its records from 0)."""
        match self.segments:
            case (first, int(index), *rest) if first == name:
                return FieldPath((first, index + offset, *rest))
        return self

    def renamed(self, old: str, new: str) -> FieldPath:
        """The path with its first segment `old` named `new`."""
        match self.segments:
            case (first, *rest) if first == old and not isinstance(first, Verbatim):
                return FieldPath((new, *rest))
        return self

    def __str__(self) -> str:
        parts: list[str] = []
        for segment in self.segments:
            if isinstance(segment, int):
                parts.append(f"[{segment}]")
            elif isinstance(segment, Verbatim) or not parts:
                parts.append(segment)
            else:
                parts.append("." + segment)
        return "".join(parts)
