"""impactmodel: evaluate how well children's services are integrated (NFER impact model)."""
from __future__ import annotations

from impactmodel.app import create_app

__all__ = ["create_app"]
