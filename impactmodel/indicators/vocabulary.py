"""The indicator vocabulary as data: load and validate ``surveys/indicators.yaml``.

Validated when the app starts, so a broken vocabulary stops the app with a message
rather than failing in the middle of an import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from impactmodel.paths import SURVEYS_DIR

INDICATORS_PATH = SURVEYS_DIR / "indicators.yaml"
ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")


class VocabularyError(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    id: str
    label: str
    scale: float      # numerator / denominator times this is the figure in this unit
    minimum: float | None = None
    maximum: float | None = None

    def out_of_range(self, value: float) -> str | None:
        """Why ``value`` cannot be a figure in this unit, or None."""
        if self.minimum is not None and value < self.minimum:
            return f"is below {self.minimum:g}, the least a {self.label} can be"
        if self.maximum is not None and value > self.maximum:
            return f"is above {self.maximum:g}, the most a {self.label} can be"
        return None


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    unit: Unit
    rise_is_good: bool | None
    per_child: bool
    description: str = ""

    def from_counts(self, numerator: float, denominator: float) -> float:
        """The figure in this indicator's unit, unrounded."""
        return self.unit.scale * numerator / denominator

    def rate_per_10000(self, value: float, numerator: float | None, denominator: float | None) -> float | None:
        """The figure per 10,000 children, for indicators counted per child (else None).

        From counts it is 10,000 × numerator / denominator exactly; from a value it is
        the value converted from the indicator's unit.
        """
        if not self.per_child:
            return None
        if numerator is not None and denominator is not None:
            return 10000 * numerator / denominator
        return value if self.unit.scale == 10000 else value * 10000 / self.unit.scale

    @property
    def direction(self) -> str:
        return {True: "a rise is good", False: "a fall is good", None: "neither direction is good in itself"}[
            self.rise_is_good]


@dataclass(frozen=True)
class Vocabulary:
    units: dict[str, Unit]
    indicators: dict[str, Indicator]

    def get(self, indicator_id: str) -> Indicator | None:
        return self.indicators.get(indicator_id)


def parse(text: str) -> Vocabulary:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise VocabularyError(f"indicators.yaml is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("units"), list) \
            or not isinstance(data.get("indicators"), list):
        raise VocabularyError("indicators.yaml needs a 'units' list and an 'indicators' list")
    units: dict[str, Unit] = {}
    for u in data["units"]:
        if not isinstance(u, dict) or not {"id", "label", "scale"} <= set(u) \
                or not set(u) <= {"id", "label", "scale", "minimum", "maximum"}:
            raise VocabularyError(f"unit {u!r} needs an id, a label and a scale (and may have a "
                                  "minimum and a maximum), nothing else")
        if u["id"] in units:
            raise VocabularyError(f"unit {u['id']!r} is defined twice")
        if not _number(u["scale"]) or u["scale"] <= 0:
            raise VocabularyError(f"unit {u['id']!r} needs a positive number as its scale")
        bounds = [u.get("minimum"), u.get("maximum")]
        if not all(b is None or _number(b) for b in bounds):
            raise VocabularyError(f"unit {u['id']!r}: minimum and maximum are numbers")
        units[u["id"]] = Unit(str(u["id"]), str(u["label"]), float(u["scale"]),
                              *(None if b is None else float(b) for b in bounds))
    indicators: dict[str, Indicator] = {}
    required = {"id", "label", "unit", "rise_is_good", "per_child"}
    for i in data["indicators"]:
        if not isinstance(i, dict):
            raise VocabularyError(f"indicator entry {i!r} is not a mapping")
        ident = i.get("id")
        if missing := required - set(i):
            raise VocabularyError(f"indicator {ident!r} needs {', '.join(sorted(missing))}")
        if extra := set(i) - required - {"description"}:
            raise VocabularyError(f"indicator {ident!r} has unknown fields: {', '.join(sorted(extra))}")
        if not isinstance(ident, str) or not ID_PATTERN.fullmatch(ident):
            raise VocabularyError(f"indicator id {ident!r} must be lower-case letters, digits and _ "
                                  "(at most 40), starting with a letter")
        if ident in indicators:
            raise VocabularyError(f"indicator {ident!r} is defined twice")
        if i["unit"] not in units:
            raise VocabularyError(f"indicator {ident!r} names unknown unit {i['unit']!r}")
        if i["rise_is_good"] not in (True, False, None) or not isinstance(i["per_child"], bool):
            raise VocabularyError(f"indicator {ident!r}: rise_is_good is true, false or null; "
                                  "per_child is true or false")
        indicators[ident] = Indicator(ident, str(i["label"]), units[i["unit"]], i["rise_is_good"],
                                      i["per_child"], str(i.get("description") or "").strip())
    return Vocabulary(units, indicators)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@lru_cache(maxsize=4)
def _load(path: str, mtime: int, size: int) -> Vocabulary:
    return parse(Path(path).read_text(encoding="utf-8"))


def load(path: Path | None = None) -> Vocabulary:
    """The vocabulary in ``path`` (default: the shipped file), parsed once per change of the file."""
    path = Path(path) if path is not None else INDICATORS_PATH
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)
