"""Integration confidence scores and the consortium comparison (docs/METHODOLOGY.md)."""
