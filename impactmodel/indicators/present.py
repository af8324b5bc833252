"""What a viewer may see of indicator figures, as tables (and so downloads) and chart data.

Rules (docs/INDICATORS.md "Who sees what"), with ``scoring.present.Viewer``:

* A viewer open to an authority sees its name and every figure with its numerator and
  denominator.
* Everyone else sees the anonymised label and the figures, never the numerator or the
  denominator (a child population names an authority). A figure is suppressed ("<5")
  when it counts fewer children than the threshold (the numerator of an indicator
  counted per child) or rests on fewer than the threshold (its denominator): the figure
  and a population would give the count back.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.consortium.models import Authority, KeyGroup, Participation, Round
from impactmodel.indicators import vocabulary
from impactmodel.indicators.models import IndicatorValue
from impactmodel.scoring.models import ConfidenceScore
from impactmodel.scoring.present import EVIDENCE_LABELS, Suppressed, Table, Viewer, dec, is_hidden

WHOLE = "All children"


@dataclass(frozen=True)
class Shown:
    """One figure as a viewer may see it."""

    authority: Authority
    name: str
    indicator: vocabulary.Indicator
    period: str
    key_group: str | None            # the key group's code; None for all children
    value: object                    # a float, or a Suppressed marker
    rate_per_10000: object
    numerator: float | None          # None unless the viewer is open to the authority
    denominator: float | None

    @property
    def hidden(self) -> bool:
        return is_hidden(self.value)


def _small(n: float | None, threshold: int) -> bool:
    return n is not None and 0 < n < threshold


def _shown(v, authority: Authority, name: str, open_: bool, key_group: str | None, indicator,
           viewer: Viewer) -> Shown:
    # Children counted (a per-child numerator), or anyone counted (any denominator), under the threshold.
    small = not open_ and ((indicator.per_child and _small(v.numerator, viewer.threshold))
                           or _small(v.denominator, viewer.threshold))
    hidden = Suppressed(viewer.threshold) if small else None
    return Shown(authority, name, indicator, v.period, key_group,
                 hidden or v.value, hidden or v.rate_per_10000,
                 v.numerator if open_ else None, v.denominator if open_ else None)


def figures(session: Session, rnd: Round, viewer: Viewer, authority: Authority | None = None) -> list[Shown]:
    """The round's figures (of one authority, or all), as ``viewer`` may see them, in
    vocabulary order, then period, then all children before key groups."""
    voc = vocabulary.load()
    iv = IndicatorValue
    query = (sa.select(iv.authority_id, iv.indicator, iv.period, iv.value, iv.numerator, iv.denominator,
                       iv.rate_per_10000, KeyGroup.code)
             .outerjoin(KeyGroup, KeyGroup.id == iv.key_group_id)
             .where(iv.round_id == rnd.id, iv.indicator.in_(list(voc.indicators))))
    places = sa.select(Authority).where(Authority.id.in_(sa.select(iv.authority_id).where(iv.round_id == rnd.id)))
    if authority is not None:
        query = query.where(iv.authority_id == authority.id)
        places = places.where(Authority.id == authority.id)
    # How each authority is named and whether its counts are open: once per authority, not per figure.
    seen = {a.id: (a, viewer.name(a), viewer.is_open(a)) for a in session.scalars(places)}
    order = {ident: i for i, ident in enumerate(voc.indicators)}
    out = [_shown(v, *seen[v.authority_id], v.code, voc.indicators[v.indicator], viewer)
           for v in session.execute(query)]
    out.sort(key=lambda f: (order[f.indicator.id], f.period, f.key_group or "", f.name))
    return out


def _group_label(code: str | None, labels: dict[str, str]) -> str:
    return WHOLE if code is None else labels.get(code, code)


def key_group_labels(rnd: Round) -> dict[str, str]:
    return {kg.code: kg.label for kg in rnd.key_groups}


def figures_table(shown: list[Shown], labels: dict[str, str], viewer: Viewer) -> Table:
    """Every figure, one row each: the consortium's ``indicators`` table."""
    with_counts = any(f.numerator is not None for f in shown)
    t = Table("indicators", "Quantitative indicators by authority",
              ["Indicator", "Unit", "Period", "Key group", "Authority", "Value", "Rate per 10,000"]
              + (["Numerator", "Denominator"] if with_counts else []),
              note=f"Figures resting on fewer than {viewer.threshold} children are shown as "
                   f"<{viewer.threshold} outside their authority; numerators and denominators are "
                   "shown only to people who may see the authority by name.")
    for f in shown:
        t.rows.append([f.indicator.label, f.indicator.unit.label, f.period, _group_label(f.key_group, labels),
                       f.name, _value(f.value), _value(f.rate_per_10000)]
                      + ([_count(f.numerator), _count(f.denominator)] if with_counts else []))
    return t


def _value(x):
    if x is None or is_hidden(x):
        return x
    return dec(x, 1)


def _count(x):
    return None if x is None else (int(x) if float(x).is_integer() else x)


def distribution_table(shown: list[Shown], labels: dict[str, str], viewer: Viewer) -> Table:
    """Per indicator, period and key group: how many authorities, and the spread of their figures."""
    t = Table("indicator_distribution", "Quantitative indicators across authorities",
              ["Indicator", "Unit", "Period", "Key group", "Authorities", "Lowest", "Median", "Highest",
               "Direction"],
              note="Over the figures shown to you: figures resting on fewer than "
                   f"{viewer.threshold} children are left out (counted under 'Authorities' in brackets).")
    groups: dict[tuple, list[Shown]] = {}
    for f in shown:
        groups.setdefault((f.indicator.id, f.period, f.key_group), []).append(f)
    for (_, period, key_group), fs in groups.items():
        values = [f.value for f in fs if not f.hidden]
        hidden = len(fs) - len(values)
        ind = fs[0].indicator
        t.rows.append([ind.label, ind.unit.label, period, _group_label(key_group, labels),
                       f"{len(values)}" + (f" ({hidden} left out)" if hidden else ""),
                       dec(min(values), 1) if values else None, dec(statistics.median(values), 1) if values else None,
                       dec(max(values), 1) if values else None, ind.direction])
    return t


def evidence(session: Session, rnd: Round, authority: Authority) -> str:
    """The authority's Box 6 category in the round, as a sentence."""
    category = session.scalar(sa.select(Participation.evidence).where(
        Participation.round_id == rnd.id, Participation.authority_id == authority.id))
    return EVIDENCE_LABELS.get(category.value if category else None)


def latest(shown: list[Shown], indicator_id: str) -> dict[int, Shown]:
    """Each authority's figure for all children in its latest period with one, shown or hidden."""
    out: dict[int, Shown] = {}
    for f in shown:   # sorted by period, so later periods overwrite
        if f.indicator.id == indicator_id and f.key_group is None:
            out[f.authority.id] = f
    return out


def against_index(session: Session, rnd: Round, shown: list[Shown], indicator_id: str) -> list[dict]:
    """Authorities placed on the continuum with a shown latest figure: index beside figure."""
    confidence = dict(session.execute(sa.select(ConfidenceScore.authority_id, ConfidenceScore.confidence).where(
        ConfidenceScore.round_id == rnd.id, ConfidenceScore.confidence.is_not(None))).all())
    points = []
    for authority_id, f in latest(shown, indicator_id).items():
        if authority_id in confidence and not f.hidden:
            points.append({"name": f.name, "period": f.period, "value": f.value,
                           "confidence": confidence[authority_id]})
    return sorted(points, key=lambda p: p["name"])


def indicators_with_figures(shown: list[Shown]) -> list[vocabulary.Indicator]:
    seen: dict[str, vocabulary.Indicator] = {}
    for f in shown:
        seen.setdefault(f.indicator.id, f.indicator)
    return list(seen.values())
