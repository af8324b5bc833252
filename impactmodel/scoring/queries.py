"""The one place where ORM rows become the arrays scoring works on.

Reads tuples (not ORM objects) so a national-scale round loads in well under a
second, and returns plain data: :class:`RoundData`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.consortium.models import Authority, KeyGroup, Locality, Participation, Respondent, Round
from impactmodel.enums import EvidenceCategory, RespondentRole, Valence
from impactmodel.fieldwork.models import Answer
from impactmodel.scoring.core import GROUPS, AuthorityInput, RoundInput
from impactmodel.scoring.tables import ROLES, VALENCES, Mentions

QUOTE_MAX_SOURCE = 600      # longer excerpts are not candidates for a short quote


@dataclass
class CodeColumns:
    """The codebook columns scoring uses, in codebook order."""

    impact: tuple[str, ...]
    feature: tuple[str, ...]
    all: tuple[str, ...]
    labels: dict[str, str]
    levels: dict[str, int]
    steering: frozenset[str]
    cyp: tuple[str, ...]
    negative: frozenset[str] = frozenset()
    suggestion: tuple[str, ...] = ()     # parents' and carers' suggestions (S.*)


def code_columns() -> CodeColumns:
    cb = codebook_mod.load()
    impact = tuple(c.id for c in cb.codes.values() if c.level is not None)
    feature = tuple(c.id for c in cb.codes.values() if c.is_feature)
    return CodeColumns(impact=impact, feature=feature, all=tuple(cb.codes),
                       labels={c.id: c.label for c in cb.codes.values()},
                       levels={c.id: c.level for c in cb.codes.values() if c.level is not None},
                       steering=frozenset(c.id for c in cb.codes.values() if c.steering_group),
                       cyp=tuple(c.id for c in cb.codes.values() if c.group == "L3.cyp"),
                       suggestion=tuple(c.id for c in cb.codes.values() if c.group == "S"),
                       negative=frozenset(c.id for c in cb.codes.values() if c.valences == ("negative",)))


@dataclass
class AuthorityInfo:
    id: int
    name: str
    label: str
    locality: str | None
    evidence: str | None
    respondents: dict[str, int]          # by role
    levels: dict[str, list[float]]       # staff group -> levels given
    staff_selection: str | None = None   # sampled, nominated, census
    in_post: dict[int, int] = field(default_factory=dict)   # group index -> staff in post


@dataclass
class RoundData:
    round_id: int
    columns: CodeColumns
    authorities: list[AuthorityInfo]     # index i here is authority index i in ``mentions``
    score_input: RoundInput              # keys are authority ids
    mentions: Mentions
    quotes: dict[int, list[dict]] = field(default_factory=dict)
    second_coder_input: RoundInput | None = None     # double-coded answers as the second coder coded them
    key_groups: dict[str, str] = field(default_factory=dict)     # the round's key groups: code -> label
    # Per respondent (as in ``mentions``): index into ``key_groups`` (in its order), -1 for none.
    respondent_key_group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Per authority id: the key group index of each row of its scoring input (staff only).
    staff_key_groups: dict[int, np.ndarray] = field(default_factory=dict)


def load_round(session: Session, rnd: Round) -> RoundData:
    """Everything scoring needs about ``rnd``, as plain data."""
    cols = code_columns()
    parts = session.execute(
        sa.select(Authority.id, Authority.name, Authority.label, Locality.name, Participation.evidence,
                  Participation.staff_selection, Participation.managers_in_post,
                  Participation.practitioners_in_post)
        .join(Participation, Participation.authority_id == Authority.id)
        .outerjoin(Locality, Locality.id == Participation.locality_id)
        .where(Participation.round_id == rnd.id).order_by(Authority.id)).all()
    resp_rows = session.execute(
        sa.select(Respondent.id, Respondent.authority_id, Respondent.role, Respondent.impact_level,
                  Respondent.key_group_id)
        .where(Respondent.round_id == rnd.id).order_by(Respondent.id)).all()
    kg_rows = session.execute(sa.select(KeyGroup.id, KeyGroup.code, KeyGroup.label)
                              .where(KeyGroup.round_id == rnd.id).order_by(KeyGroup.code)).all()
    kg_index = {kid: i for i, (kid, _c, _l) in enumerate(kg_rows)}
    info: dict[int, AuthorityInfo] = {}
    for aid, name, label, locality, evidence, selection, managers, practitioners in parts:
        in_post = {g: n for g, n in ((1, managers), (2, practitioners)) if n is not None}
        info[aid] = AuthorityInfo(aid, name, label, locality, evidence.value if evidence else None,
                                  {r: 0 for r in ROLES}, {g: [] for g in GROUPS}, selection, in_post)
    missing = {r[1] for r in resp_rows} - set(info)
    if missing:   # respondents of an authority without a participation row still count
        for aid, name, label in session.execute(
                sa.select(Authority.id, Authority.name, Authority.label).where(Authority.id.in_(missing))):
            info[aid] = AuthorityInfo(aid, name, label, None, None, {r: 0 for r in ROLES},
                                      {g: [] for g in GROUPS})
    authorities = sorted(info.values(), key=lambda a: a.id)
    a_index = {a.id: i for i, a in enumerate(authorities)}
    role_index = {r: i for i, r in enumerate(ROLES)}

    R = len(resp_rows)
    r_ids = np.array([r[0] for r in resp_rows], dtype=np.int64)
    r_auth = np.array([a_index[r[1]] for r in resp_rows], dtype=np.int64)
    r_role = np.array([role_index[_value(r[2])] for r in resp_rows], dtype=np.int64)
    r_level = np.array([np.nan if r[3] is None else float(r[3]) for r in resp_rows])
    r_kg = np.array([kg_index.get(r[4], -1) for r in resp_rows], dtype=np.int64)
    for a, role, level in zip(r_auth, r_role, r_level):
        inf = authorities[a]
        inf.respondents[ROLES[role]] += 1
        if role < 3 and not np.isnan(level):
            inf.levels[GROUPS[role]].append(float(level))

    cod_rows = session.execute(
        sa.select(Coding.respondent_id, Coding.code_id, Coding.valence)
        .where(Coding.round_id == rnd.id, Coding.agreed.is_(True))).all()
    code_index = {c: i for i, c in enumerate(cols.all)}
    valence_index = {v: i for i, v in enumerate(VALENCES)}
    pos_of = {rid: i for i, rid in enumerate(r_ids.tolist())}
    keep = [(pos_of[r], code_index[c], valence_index[_value(v)]) for r, c, v in cod_rows
            if c in code_index and r in pos_of]
    arr = np.array(keep, dtype=np.int64).reshape(-1, 3)
    mentions = Mentions(respondent_authority=r_auth, respondent_role=r_role,
                        n_authorities=len(authorities), codes=cols.all,
                        respondent=arr[:, 0], code=arr[:, 1], valence=arr[:, 2])
    score_input = _score_input(cols, authorities, r_auth, r_role, r_level, arr, R)
    data = RoundData(rnd.id, cols, authorities, score_input, mentions,
                     key_groups={code: label for _i, code, label in kg_rows}, respondent_key_group=r_kg,
                     staff_key_groups=_staff_rows_of(authorities, r_auth, r_role, r_kg))
    data.quotes = _quote_candidates(session, rnd, cols, a_index)
    data.second_coder_input = _second_coder_input(session, rnd, cols, authorities, r_auth, r_role, r_level,
                                                  arr, pos_of, code_index, valence_index)
    return data


def _second_coder_input(session, rnd, cols, authorities, r_auth, r_role, r_level, arr, pos_of,
                        code_index, valence_index) -> RoundInput | None:
    """The round's scoring input with each double-coded answer coded as its second coder
    coded it (for the sensitivity of the ranking to who coded); None without double coding."""
    done = (sa.select(DoubleCoding.answer_id, DoubleCoding.second_coder_id)
            .where(DoubleCoding.round_id == rnd.id, DoubleCoding.second_done_at.is_not(None)).subquery())
    first = session.execute(
        sa.select(Coding.respondent_id, Coding.code_id, Coding.valence)
        .join(done, done.c.answer_id == Coding.answer_id)
        .where(Coding.round_id == rnd.id, Coding.agreed.is_(True))).all()
    second = session.execute(
        sa.select(Coding.respondent_id, Coding.code_id, Coding.valence)
        .join(done, sa.and_(done.c.answer_id == Coding.answer_id, done.c.second_coder_id == Coding.coder_id))
        .where(Coding.round_id == rnd.id)).all()
    if not first and not second:
        return None

    def rows(found):
        return np.array([(pos_of[r], code_index[c], valence_index[_value(v)]) for r, c, v in found
                         if c in code_index and r in pos_of], dtype=np.int64).reshape(-1, 3)
    # Take the first coder's codings of those answers out once each, then add the second's.
    out = Counter(map(tuple, rows(first).tolist()))
    base = []
    for row in map(tuple, arr.tolist()):
        if out[row]:
            out[row] -= 1
        else:
            base.append(row)
    swapped = np.array(base + [tuple(x) for x in rows(second).tolist()], dtype=np.int64).reshape(-1, 3)
    return _score_input(cols, authorities, r_auth, r_role, r_level, swapped, len(r_auth))


def _value(v) -> str:
    return getattr(v, "value", v)


def _score_input(cols: CodeColumns, authorities, r_auth, r_role, r_level, arr, R) -> RoundInput:
    n_imp, n_feat = len(cols.impact), len(cols.feature)
    code_to_imp = np.full(len(cols.all), -1)
    code_to_feat = np.full(len(cols.all), -1)
    all_ix = {c: i for i, c in enumerate(cols.all)}
    for j, c in enumerate(cols.impact):
        code_to_imp[all_ix[c]] = j
    for j, c in enumerate(cols.feature):
        code_to_feat[all_ix[c]] = j
    # One wide staff matrix for the round, sliced per authority below.
    wide = np.zeros((R, n_imp + 2 * n_feat), dtype=bool)
    r, c, v = arr[:, 0], arr[:, 1], arr[:, 2]
    staff = r_role[r] < 3
    develop = v == VALENCES.index("to_develop")
    # A level-4 code named "to develop" is embedding hoped for, not achieved: not an impact.
    aspiration = np.array([cols.levels.get(code) == 4 for code in cols.all], dtype=bool)
    imp = staff & (code_to_imp[c] >= 0) & ~(aspiration[c] & develop)
    wide[r[imp], code_to_imp[c[imp]]] = True
    feat = staff & (code_to_feat[c] >= 0)
    fp = feat & ~develop
    wide[r[fp], n_imp + code_to_feat[c[fp]]] = True
    fd = feat & develop
    wide[r[fd], n_imp + n_feat + code_to_feat[c[fd]]] = True
    out = []
    for a, rows in zip(authorities, _staff_rows(len(authorities), r_auth, r_role)):
        W = wide[rows]
        out.append(AuthorityInput(key=a.id, role=r_role[rows], level=r_level[rows],
                                  impacts=W[:, :n_imp], positive=W[:, n_imp:n_imp + n_feat],
                                  develop=W[:, n_imp + n_feat:], population=_in_post(a, r_role[rows])))
    return RoundInput(cols.impact, cols.feature, out)


def _staff_rows(n_authorities: int, r_auth, r_role) -> list[np.ndarray]:
    """Per authority index: its staff respondents' positions, in the order of its scoring input."""
    order = np.argsort(r_auth, kind="stable")
    bounds = np.searchsorted(r_auth[order], np.arange(n_authorities + 1))
    is_staff = r_role < 3
    out = []
    for i in range(n_authorities):
        rows = order[bounds[i]:bounds[i + 1]]
        out.append(rows[is_staff[rows]])
    return out


def _staff_rows_of(authorities, r_auth, r_role, r_kg) -> dict[int, np.ndarray]:
    return {a.id: r_kg[rows] for a, rows in zip(authorities, _staff_rows(len(authorities), r_auth, r_role))}


def _in_post(a: AuthorityInfo, roles: np.ndarray) -> dict[int, int]:
    """Staff in post per sampled group, where recorded and not fewer than were interviewed."""
    return {g: n for g, n in a.in_post.items() if n >= int((roles == g).sum())}


def _quote_candidates(session: Session, rnd: Round, cols: CodeColumns, a_index) -> dict[int, list[dict]]:
    """Short staff excerpts coded with a positive contributing feature, per authority."""
    text = sa.func.coalesce(Coding.excerpt, sa.func.substr(Answer.text, Coding.start + 1,
                                                           Coding.end - Coding.start))
    rows = session.execute(
        sa.select(Respondent.authority_id, Respondent.role, Coding.code_id, text)
        .join(Respondent, Respondent.id == Coding.respondent_id)
        .outerjoin(Answer, Answer.id == Coding.answer_id)
        .where(Coding.round_id == rnd.id, Coding.agreed.is_(True), Coding.code_id.like("F.%"),
               Coding.valence == "positive",
               Respondent.role.in_(["dcs", "manager", "practitioner"]),
               sa.or_(Coding.excerpt.is_not(None), Coding.start.is_not(None)))).all()
    out: dict[int, list[dict]] = {}
    for aid, role, code, excerpt in rows:
        if excerpt and len(excerpt) <= QUOTE_MAX_SOURCE and aid in a_index:
            out.setdefault(aid, []).append({"role": _value(role), "code": code, "text": excerpt})
    return out


def _ordinal(column, members) -> sa.ColumnElement:
    """1, 2, ... for each enum member (0 for NULL), so in-place changes move the signature."""
    return sa.case(*[(column == m, i) for i, m in enumerate(members, 1)], else_=0)


def inputs_version(session: Session, round_id: int) -> int:
    """The round's ``scoring_inputs_version``: raised by the database whenever anything
    scoring reads for the round changes (migration 0032)."""
    return session.scalar(sa.select(Round.scoring_inputs_version).where(Round.id == round_id))


def input_signature(session: Session, round_id: int) -> list[int]:
    """A signature of everything scoring reads for a round, computed in the database:
    how results stored before :func:`inputs_version` existed are judged.

    Counts and id-weighted sums over the round's agreed codings (respondent, code by
    its codebook position, valence), respondents (authority, role, level) and participations (Box 6
    evidence, staff in post). Adding, deleting, agreeing or editing any of them changes it in
    practice; it is compared with the signature stored at compute time to warn that
    stored scores are stale. The database sums per code and valence (and per role), and
    the weights by codebook position, valence and role are applied to those few groups
    here: nothing is evaluated per row, which keeps it fast on a national-scale round.
    """
    c = Coding
    code_ordinal = {code: i for i, code in enumerate(codebook_mod.load().codes, 1)}
    valence_ordinal = {v: i for i, v in enumerate(Valence, 1)}
    coding = [0] * 6        # count, sum id, sum respondent, sum id x code, sum code length, sum id x valence
    for code_id, valence, n, ids, respondents in session.execute(
            sa.select(c.code_id, c.valence, sa.func.count(), sa.func.sum(c.id), sa.func.sum(c.respondent_id))
            .where(c.round_id == round_id, c.agreed.is_(True)).group_by(c.code_id, c.valence)):
        ordinal = code_ordinal.get(code_id, 1000 + len(code_id))
        for i, v in enumerate((n, ids, respondents, ids * ordinal, n * len(code_id),
                               ids * valence_ordinal.get(valence, 0))):
            coding[i] += v
    r = Respondent
    level2 = sa.func.coalesce(r.impact_level * 2, 0)     # half steps: whole numbers
    role_ordinal = {role: i for i, role in enumerate(RespondentRole, 1)}
    respondent = [0] * 7    # count, sum id, sum authority, sum id x role, sum level, sum id x level, levels
    for role, n, ids, authorities, levels, id_levels, with_level in session.execute(
            sa.select(r.role, sa.func.count(), sa.func.sum(r.id), sa.func.sum(r.authority_id), sa.func.sum(level2),
                      sa.func.sum(r.id * level2), sa.func.count(r.impact_level))
            .where(r.round_id == round_id).group_by(r.role)):
        for i, v in enumerate((n, ids, authorities, ids * role_ordinal.get(role, 0), levels, id_levels,
                               with_level)):
            respondent[i] += v
    p = Participation
    participation = session.execute(sa.select(
        sa.func.count(), sa.func.sum(p.authority_id), sa.func.sum(p.locality_id),
        sa.func.sum(p.authority_id * _ordinal(p.evidence, list(EvidenceCategory))),
        sa.func.sum(p.authority_id * sa.func.coalesce(p.managers_in_post, 0)),
        sa.func.sum(p.authority_id * sa.func.coalesce(p.practitioners_in_post, 0)))
        .where(p.round_id == round_id)).one()
    return [int(round(float(v or 0))) for v in (*coding, *respondent, *participation)]
