"""impactmodel: evaluate how well children's services are integrated (NFER impact model).

``impactmodel:create_app()`` is the entry point WSGI servers are given (README.md), so the
package offers it here; the application itself is assembled in ``impactmodel/app.py``.
"""
from __future__ import annotations

from impactmodel.app import create_app

__all__ = ["create_app"]
