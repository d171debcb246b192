"""Shapes of the bulk per-item catalog API (/data/v2/projects/{project_id}/catalogs/...)."""

from __future__ import annotations

from gateway.shape import Shape

BULK_ITEM_SHAPES: dict[str, Shape] = {}
