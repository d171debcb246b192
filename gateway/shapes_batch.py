"""Shapes of the batch imports API (/batch-imports, /catalogs)."""

from __future__ import annotations

from gateway.shape import Shape

BATCH_SHAPES: dict[str, Shape] = {}
