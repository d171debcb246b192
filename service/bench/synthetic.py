"""A seeded synthetic catalog, generated as CSV chunks in constant memory (any size up to millions)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

COLORS = ("red", "blue", "green", "black", "white", "grey", "navy", "teal")
BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka")
WORDS = ("shoe", "shirt", "hat", "coat", "sock", "bag", "belt", "scarf", "glove", "boot", "jean", "tee")


@dataclass(frozen=True)
class CatalogShape:
    items: int
    variations_per_item: float = 0.5
    groups: int = 0
    seed: int = 7
    # Revision 0 is the catalog; a later revision renames every 10th item (a nightly sync's changes), or with
    # `everything` changes every record: its name and, for items and variations, its url.
    revision: int = 0
    everything: bool = False

    @property
    def group_count(self) -> int:
        return self.groups or max(10, self.items // 1000)

    @property
    def variation_count(self) -> int:
        return int(self.items * self.variations_per_item)


def _chunks(lines: Iterator[str], size: int = 1 << 20) -> Iterator[bytes]:
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


def item_suffix(shape: CatalogShape, n: int) -> str:
    """What a revision changes in an item's name: every 10th item's (every item's with `everything`)."""
    return f" r{shape.revision}" if shape.revision and (shape.everything or n % 10 == 0) else ""


def _changed(shape: CatalogShape) -> tuple[str, str]:
    """What a revision with `everything` adds to every name and to every url's path."""
    return (f" r{shape.revision}", f"{shape.revision}/") if shape.revision and shape.everything else ("", "")


def items_csv(shape: CatalogShape) -> Iterator[bytes]:
    rng = random.Random(shape.seed)
    groups = shape.group_count

    def lines() -> Iterator[str]:
        yield (
            "id,item_name,url,image_url,description,keywords,group_ids,active,suggested_score,"
            "metadata:brand,facet:color\n"
        )
        path = _changed(shape)[1]
        for n in range(shape.items):
            word = WORDS[n % len(WORDS)]
            yield (
                f"item-{n},{BRANDS[n % 8]} {word} {n}{item_suffix(shape, n)},https://shop.example/{path}p/{n},https://cdn.example/{n}.jpg,"
                f"A {word} number {n},{word}|{COLORS[n % 8]},g{rng.randrange(groups)},true,"
                f"{rng.random() * 100:.3f},{BRANDS[n % 8]},{COLORS[n % 8]}|{COLORS[(n + 3) % 8]}\n"
            )

    return _chunks(lines())


def variations_csv(shape: CatalogShape) -> Iterator[bytes]:
    def lines() -> Iterator[str]:
        yield "variation_id,item_id,item_name,url,active,facet:size\n"
        per_item = shape.variations_per_item
        suffix, path = _changed(shape)
        for n in range(shape.variation_count):
            item = int(n / per_item) if per_item else 0
            yield f"var-{n},item-{item},Variation {n}{suffix},https://shop.example/{path}v/{n},true,{36 + n % 12}\n"

    return _chunks(lines())


def item_groups_csv(shape: CatalogShape) -> Iterator[bytes]:
    def lines() -> Iterator[str]:
        yield "id,name,parent_ids,data\n"
        suffix = _changed(shape)[0]
        for n in range(shape.group_count):
            parents = f'"[""g{n // 10}""]"' if n >= 10 else "[]"
            yield f'g{n},Group {n}{suffix},{parents},"{{""rank"": {n}}}"\n'

    return _chunks(lines())


FILES = {"items": items_csv, "variations": variations_csv, "item_groups": item_groups_csv}
