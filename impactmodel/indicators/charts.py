"""Geometry for the indicator charts (templates/indicators/_charts.html draws them).

Only numbers and classes: no inline styles (the Content-Security-Policy forbids them).
"""
from __future__ import annotations

import math

SMALL_W, SMALL_H = 360, 170
SCATTER_W, SCATTER_H = 760, 380


def _nice_max(x: float) -> float:
    """A round number at or above ``x`` for the top of an axis (1, 2, 2.5 or 5 times a power of ten)."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= x)


def _scale(value: float, lo: float, hi: float, a: float, b: float) -> float:
    return round(a + (value - lo) / (hi - lo) * (b - a), 1) if hi > lo else round((a + b) / 2, 1)


def _axis(values: list[float]) -> tuple[float, float]:
    lo = min(0.0, min(values, default=0.0))
    return lo, _nice_max(max(values, default=1.0))


def over_periods(shown: list, labels: dict[str, str]) -> dict:
    """One indicator's figures over periods: a line per population (all children, each key group).

    ``shown`` are ``present.Shown`` of one authority and one indicator. A suppressed
    figure leaves a gap, marked on the axis.
    """
    periods = sorted({f.period for f in shown})
    values = [f.value for f in shown if not f.hidden]
    lo, hi = _axis(values)
    left, right, top, bottom = 46, SMALL_W - 16, 14, SMALL_H - 36
    step = (right - left) / max(len(periods) - 1, 1)
    xs = {p: round(left + i * step if len(periods) > 1 else (left + right) / 2, 1) for i, p in enumerate(periods)}
    lines = []
    for n, key_group in enumerate(sorted({f.key_group for f in shown}, key=lambda k: (k is not None, k or ""))):
        points = [{"x": xs[f.period], "y": _scale(f.value, lo, hi, bottom, top), "period": f.period,
                   "text": f"{f.value:.1f}"} for f in shown if f.key_group == key_group and not f.hidden]
        lines.append({"label": labels.get(key_group, key_group) if key_group else "All children",
                      "series": f"series-{n % 4}", "points": points,
                      "path": " ".join(f"{p['x']},{p['y']}" for p in points)})
    ticks = [{"y": _scale(t, lo, hi, bottom, top), "label": f"{t:g}"} for t in (lo, (lo + hi) / 2, hi)]
    return {"width": SMALL_W, "height": SMALL_H, "left": left, "right": right, "top": top, "bottom": bottom,
            "periods": [{"x": xs[p], "label": p, "hidden": any(f.hidden and f.period == p for f in shown)}
                        for p in periods],
            "lines": lines, "ticks": ticks}


def against_index(points: list[dict], unit_label: str) -> dict:
    """Scatter of the confidence index (up) against an indicator's latest figure (across)."""
    left, right, top, bottom = 60, SCATTER_W - 24, 16, SCATTER_H - 56
    lo, hi = _axis([p["value"] for p in points])
    dots = [{"x": _scale(p["value"], lo, hi, left, right), "y": _scale(p["confidence"], 0, 1, bottom, top),
             "title": f"{p['name']}: {p['value']:.1f} ({p['period']}), confidence {p['confidence']:.2f}",
             "name": p["name"]} for p in points]
    return {"width": SCATTER_W, "height": SCATTER_H, "left": left, "right": right, "top": top, "bottom": bottom,
            "dots": dots, "unit": unit_label,
            "x_ticks": [{"x": _scale(t, lo, hi, left, right), "label": f"{t:g}"}
                        for t in (lo + (hi - lo) * i / 4 for i in range(5))],
            "y_ticks": [{"y": _scale(t, 0, 1, bottom, top), "label": f"{t:g}"} for t in (0, 0.25, 0.5, 0.75, 1)]}
