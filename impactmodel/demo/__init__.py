"""The demo consortium: generated, seeded, and loaded through the same services as real data."""
from impactmodel.demo.loader import load_demo

__all__ = ["load_demo"]
