"""Ids the service mints: UUIDv7 (time-ordered), as ../API.md asks."""

from __future__ import annotations

from shared.ids import uuid7

__all__ = ["uuid7"]
