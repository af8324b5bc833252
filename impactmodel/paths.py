"""Where the project's files are: the checkout's root and the folders the app reads."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SURVEYS_DIR = ROOT / "surveys"          # the codebook, the indicators, the instruments (YAML)
MIGRATIONS_DIR = ROOT / "migrations"
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
