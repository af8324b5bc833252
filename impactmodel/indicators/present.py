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

from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.consortium.models import Authority, KeyGroup, Participation, Round
from impactmodel.indicators import vocabulary
from impactmodel.indicators.models import IndicatorValue
from impactmodel.scoring.models import ConfidenceScore
from impactmodel.scoring.present import EVIDENCE_LABELS, Suppressed, Table, Viewer, dec, is_hidden

WHOLE = "All children"


@dataclass(slots=True)
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


class Place(NamedTuple):
    """An authority as a viewer meets it: the name they see, and whether its counts are open to them."""

    authority: Authority
    name: str
    open: bool


def place_of(authority: Authority, viewer: Viewer) -> Place:
    return Place(authority, viewer.name(authority), viewer.is_open(authority))


def figures(session: Session, rnd: Round, viewer: Viewer, places: list[Place] | None = None,
            indicator: str | None = None, whole_only: bool = False) -> list[Shown]:
    """The round's figures as ``viewer`` may see them: of the authorities ``places`` (None:
    all), of ``indicator`` (None: all), of all children only when ``whole_only``; in
    vocabulary order, then period, then all children before key groups, then authority."""
    voc = vocabulary.load()
    iv = IndicatorValue
    query = (sa.select(iv.authority_id, iv.indicator, iv.period, iv.value, iv.numerator, iv.denominator,
                       iv.rate_per_10000, KeyGroup.code)
             .outerjoin(KeyGroup, KeyGroup.id == iv.key_group_id)
             .where(iv.round_id == rnd.id, iv.indicator.in_(list(voc.indicators))))
    if places is None:
        places = authorities_with_figures(session, rnd, viewer)
    else:
        query = query.where(iv.authority_id.in_([p.authority.id for p in places]))
    if indicator is not None:
        query = query.where(iv.indicator == indicator)
    if whole_only:
        query = query.where(iv.key_group_id.is_(None))
    # How each authority is named and whether its counts are open: once per authority, not
    # per figure; figures are sorted on positions worked out once (an indicator's in the
    # vocabulary, an authority's among the names the viewer sees), not on their text.
    seen = {p.authority.id: p for p in places}
    by_name = {p.authority.id: i for i, p in enumerate(sorted(places, key=lambda p: p.name))}
    order = {ident: i for i, ident in enumerate(voc.indicators)}
    t = viewer.threshold
    keyed = []
    # Plain rows from the connection: a round has thousands of figures.
    for aid, ind, period, value, numerator, denominator, rate, key_group in session.connection().execute(query):
        place, indicator = seen[aid], voc.indicators[ind]
        if place.open:
            shown = Shown(place.authority, place.name, indicator, period, key_group, value, rate,
                          numerator, denominator)
        elif (indicator.per_child and _small(numerator, t)) or _small(denominator, t):
            # Children counted (a per-child numerator), or anyone counted (any denominator), under the threshold.
            hidden = Suppressed(t)
            shown = Shown(place.authority, place.name, indicator, period, key_group, hidden, hidden, None, None)
        else:
            shown = Shown(place.authority, place.name, indicator, period, key_group, value, rate, None, None)
        keyed.append(((order[ind], period, key_group or "", by_name[aid]), shown))
    keyed.sort(key=itemgetter(0))
    return [shown for _key, shown in keyed]


def authorities_with_figures(session: Session, rnd: Round, viewer: Viewer) -> list[Place]:
    """The authorities with a figure in the round, as ``viewer`` meets them, by the name they see."""
    found = session.scalars(sa.select(Authority).where(Authority.id.in_(
        sa.select(IndicatorValue.authority_id).where(IndicatorValue.round_id == rnd.id))))
    return sorted((place_of(a, viewer) for a in found), key=lambda p: (p.name, p.authority.id))


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
    # A figure is a float, None or Suppressed (never Withheld).
    return dec(x, 1) if isinstance(x, float) else x


def _count(x):
    return None if x is None else (int(x) if float(x).is_integer() else x)


@dataclass(frozen=True)
class Spread:
    """The figures of one indicator, period and key group across authorities, as a viewer is shown them."""

    indicator: vocabulary.Indicator
    period: str
    key_group: str | None            # the key group's code; None for all children
    shown: int                       # authorities whose figure is shown
    hidden: int                      # authorities whose figure is suppressed
    lowest: float | None             # over the shown figures; None when none is shown
    median: float | None
    highest: float | None


def spreads(session: Session, rnd: Round, viewer: Viewer) -> list[Spread]:
    """Per indicator, period and key group, the spread of the figures ``viewer`` is
    shown, counted in the database; in vocabulary order, then period, then all children
    before key groups."""
    voc = vocabulary.load()
    iv = IndicatorValue
    hidden = sa.case((_hidden(viewer, voc), 1), else_=0)
    population = (iv.indicator, iv.period, iv.key_group_id)
    # Each figure with its place among the shown (or the hidden) figures of its population,
    # so that the median is the middle one, or the mean of the two middle ones, of the shown.
    ranked = (sa.select(*population, iv.value, hidden.label("hidden"),
                        sa.func.row_number().over(partition_by=(*population, hidden), order_by=iv.value)
                        .label("place"),
                        sa.func.count().over(partition_by=(*population, hidden)).label("among"))
              .where(iv.round_id == rnd.id, iv.indicator.in_(list(voc.indicators)))
              .subquery())
    shown = ranked.c.hidden == 0
    # The middle place of an odd count n is (n + 1) / 2; of an even one, n / 2 and n / 2 + 1.
    middle = sa.and_(shown, (2 * ranked.c.place).between(ranked.c.among, ranked.c.among + 2))
    query = (sa.select(ranked.c.indicator, ranked.c.period, KeyGroup.code, sa.func.count(),
                       sa.func.sum(ranked.c.hidden), sa.func.min(sa.case((shown, ranked.c.value))),
                       sa.func.avg(sa.case((middle, ranked.c.value))),
                       sa.func.max(sa.case((shown, ranked.c.value))))
             .outerjoin(KeyGroup, KeyGroup.id == ranked.c.key_group_id)
             .group_by(ranked.c.indicator, ranked.c.period, ranked.c.key_group_id, KeyGroup.code))
    out = [Spread(voc.indicators[ind], period, key_group, n - n_hidden, n_hidden, lowest, median, highest)
           for ind, period, key_group, n, n_hidden, lowest, median, highest in session.execute(query)]
    order = {ident: i for i, ident in enumerate(voc.indicators)}
    out.sort(key=lambda x: (order[x.indicator.id], x.period, x.key_group or ""))
    return out


def _hidden(viewer: Viewer, voc: vocabulary.Vocabulary) -> sa.ColumnElement[bool]:
    """The suppression of ``figures`` as SQL: the figure rests on fewer children than the
    threshold, and its authority is not open to ``viewer``."""
    iv, t = IndicatorValue, viewer.threshold
    per_child = [i.id for i in voc.indicators.values() if i.per_child]
    small = sa.or_(sa.and_(iv.indicator.in_(per_child), iv.numerator > 0, iv.numerator < t),
                   sa.and_(iv.denominator > 0, iv.denominator < t))
    open_ids = viewer.user.visible_authority_ids()
    if open_ids is None:
        return sa.false()
    return sa.and_(small, iv.authority_id.not_in(open_ids)) if open_ids else small


def distribution_table(spread: list[Spread], labels: dict[str, str], viewer: Viewer) -> Table:
    """Per indicator, period and key group: how many authorities, and the spread of their figures."""
    t = Table("indicator_distribution", "Quantitative indicators across authorities",
              ["Indicator", "Unit", "Period", "Key group", "Authorities", "Lowest", "Median", "Highest",
               "Direction"],
              note="Over the figures shown to you: figures resting on fewer than "
                   f"{viewer.threshold} children are left out (counted under 'Authorities' in brackets).")
    for x in spread:
        ind = x.indicator
        t.rows.append([ind.label, ind.unit.label, x.period, _group_label(x.key_group, labels),
                       f"{x.shown}" + (f" ({x.hidden} left out)" if x.hidden else ""),
                       dec(x.lowest, 1), dec(x.median, 1), dec(x.highest, 1), ind.direction])
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


def indicators_with_figures(figures: list[Shown] | list[Spread]) -> list[vocabulary.Indicator]:
    """The indicators of ``figures`` (figures or spreads), in their order."""
    seen: dict[str, vocabulary.Indicator] = {}
    for f in figures:
        seen.setdefault(f.indicator.id, f.indicator)
    return list(seen.values())
