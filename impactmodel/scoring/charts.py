"""Geometry for the server-rendered SVG charts (templates/scoring/_charts.html draws them).

Only numbers and classes here: no inline styles (the Content-Security-Policy
forbids them), colours come from classes in static/scoring/scoring.css.
"""
from __future__ import annotations

import math

from impactmodel.scoring.present import Suppressed

WIDTH = 760


def _x(value: float, x0: float, x1: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return round(x0 + (value - lo) / (hi - lo) * (x1 - x0), 1)


# Label gutter of the continuum chart: wide enough for the longest "12. Name" at 12px
# (about 6.6px a character), within these bounds; longer names end with an ellipsis.
LABEL_CHAR_W = 6.6
GUTTER_MIN, GUTTER_MAX = 120, 330


def _gutter(texts, lo: int, hi: int, char_w: float = 7.0) -> int:
    """A left margin wide enough for the longest label (12px type), within bounds."""
    longest = max((len(t) for t in texts), default=0)
    return min(hi, max(lo, math.ceil(longest * char_w) + 20))


def _label(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"


def continuum(rows: list[dict]) -> dict:
    """Authorities ordered by confidence, each with its interval bar.

    The left gutter grows with the longest label so no name is clipped; names too
    long for the widest gutter are shortened with an ellipsis (the row's <title>
    keeps the full name).
    """
    labels = [f"{r['rank_text']}. {r['name']}" for r in rows if r["score"].confidence is not None]
    longest = max((len(t) for t in labels), default=0)
    gutter = min(GUTTER_MAX, max(GUTTER_MIN, math.ceil(longest * LABEL_CHAR_W) + 16))
    max_chars = int((gutter - 16) / LABEL_CHAR_W)
    row_h, top, left, right = 22, 34, gutter, WIDTH - 24
    items = []
    for i, r in enumerate(rows):
        s = r["score"]
        if s.confidence is None:
            continue
        y = top + len(items) * row_h + row_h / 2
        items.append({
            "y": y, "name": r["name"], "rank": s.rank, "label": _label(f"{r['rank_text']}. {r['name']}", max_chars),
            "x": _x(s.confidence, left, right),
            "x_low": _x(s.ci_low if s.ci_low is not None else s.confidence, left, right),
            "x_high": _x(s.ci_high if s.ci_high is not None else s.confidence, left, right),
            "flagged": bool(r["missing_groups"]),
            "title": f"{r['name']}: {s.confidence:.2f} (95% interval {s.ci_low:.2f} to {s.ci_high:.2f}); "
                     f"rank {r['rank_text']} (between {s.rank_low} and {s.rank_high}); "
                     f"interviewed {r['n_text']}"
                     + ("; missing " + ", ".join(r["missing_groups"]) if r["missing_groups"] else ""),
        })
    height = top + len(items) * row_h + 40
    ticks = [{"x": _x(t, left, right), "label": f"{t:g}"} for t in (0, 0.25, 0.5, 0.75, 1)]
    return {"width": WIDTH, "height": height, "left": left, "right": right, "top": top,
            "bottom": top + len(items) * row_h, "items": items, "ticks": ticks}


def components(comps: list[dict]) -> dict:
    """Horizontal bars, one per component, 0 to 1."""
    left = _gutter([f"{c['label']} (100%)" for c in comps], 160, 360)
    row_h, top, right = 26, 10, WIDTH - 70
    bars = []
    for i, c in enumerate(comps):
        v = c["value"]
        y = top + i * row_h
        hidden = c.get("hidden", False)
        bars.append({"y": y, "label": c["label"], "value": v, "missing": v is None,
                     "w": 0 if v is None else round(max(v, 0) * (right - left), 1),
                     "text": "hidden" if hidden else "not available" if v is None else f"{v:.2f}",
                     "weight": c["weight"]})
    return {"width": WIDTH, "height": top + len(comps) * row_h + 10, "left": left, "right": right,
            "bars": bars, "bar_h": row_h - 8}


def levels(groups: list[dict]) -> dict:
    """Dot plot of self-reported levels (1-4 in half steps) by staff group."""
    left = _gutter([g["label"] for g in groups], 120, 300)
    row_h, top, right = 46, 28, WIDTH - 40
    steps = [1 + i / 2 for i in range(7)]
    rows = []
    for i, g in enumerate(groups):
        y = top + i * row_h + row_h / 2
        dots = []
        if g["visible"]:
            counts = g["distribution"]
            biggest = max([counts.get(f"{s:g}", 0) for s in steps] + [1])
            for s in steps:
                n = counts.get(f"{s:g}", 0)
                if n:
                    dots.append({"x": _x(s, left, right, 1, 4), "r": round(4 + 10 * math.sqrt(n / biggest), 1),
                                 "n": n, "level": f"{s:g}"})
        rows.append({"y": y, "label": g["label"], "short": g["short"], "dots": dots,
                     "mean": None if g["mean"] is None else _x(g["mean"], left, right, 1, 4),
                     "mean_value": g["mean"], "present": g["present"], "visible": g["visible"]})
    ticks = [{"x": _x(s, left, right, 1, 4), "label": f"{s:g}", "major": s == int(s)} for s in steps]
    return {"width": WIDTH, "height": top + len(groups) * row_h + 30, "left": left, "right": right,
            "rows": rows, "ticks": ticks, "top": top, "bottom": top + len(groups) * row_h}


def level_reach(reach: dict, totals: dict, roles: list[tuple[str, str]], threshold: int) -> dict:
    """Grouped bars: share of each group's respondents naming an impact at each level."""
    top, left, bottom_pad, height = 20, 50, 40, 260
    plot_h = height - top - bottom_pad
    group_w = (WIDTH - left - 20) / 4
    bar_w = group_w / (len(roles) + 1.5)
    levels = []
    for li, level in enumerate(("1", "2", "3", "4")):
        x0 = left + li * group_w + bar_w * 0.75
        bars = []
        for ri, (role, short) in enumerate(roles):
            n = reach.get(level, {}).get(role, 0)
            total = totals.get(role, 0)
            hidden = 0 < n < threshold
            share = (n / total) if total and not hidden else 0
            h = round(share * plot_h, 1)
            bars.append({"x": round(x0 + ri * bar_w, 1), "w": round(bar_w * 0.85, 1), "y": round(top + plot_h - h, 1),
                         "h": h, "role": role, "short": short, "hidden": hidden,
                         "text": f"<{threshold}" if hidden else f"{share * 100:.0f}%"})
        levels.append({"label": f"Level {level}", "x": round(left + li * group_w + group_w / 2, 1), "bars": bars})
    ticks = [{"y": round(top + plot_h - t * plot_h, 1), "label": f"{int(t * 100)}%"} for t in (0, .25, .5, .75, 1)]
    return {"width": WIDTH, "height": height, "left": left, "top": top, "base": top + plot_h,
            "levels": levels, "ticks": ticks}


def is_suppressed(value) -> bool:
    return isinstance(value, Suppressed)
