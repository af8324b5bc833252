"""What a viewer may see of stored results: names or labels, counts or "<5".

Rules (docs/METHODOLOGY.md "Who sees what"):

* A viewer is *open* to an authority when their role sees all names (admins) or
  they may see it (a researcher's assigned authorities, a contact's own). Open
  viewers see its name, locality, quotes and exact counts.
* Everyone else sees the anonymised label; per-authority counts under the
  small-number threshold show as "<5", a group's levels are shown only when the
  group has at least that many people, and quotes are not shown.
* Consortium tables (Tables 1 and 2, impacts by level, consortium gaps) are
  consortium outputs: counts under the threshold are suppressed for every viewer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from impactmodel.enums import RespondentRole
from impactmodel.scoring.core import COMPONENTS, GROUP_SHORT, GROUPS

COMPONENT_LABELS = {
    "level_centre": "Level of impact",
    "level_agreement": "Agreement on level",
    "impact_agreement": "Agreement on types of impact",
    "feature_agreement": "Agreement on features",
    "shared_features": "Features named by all groups",
    "feature_balance": "Positive vs to develop",
}
EVIDENCE_LABELS = {
    "early_days": "Early days: cannot confidently ascribe yet",
    "not_ascribed": "Improvements ascribed to earlier work",
    "ascribed": "Improvements ascribed to integrated services",
    "no_response": "No response",
    None: "Not recorded",
}
ROLE_LABELS = {r.value: r.label for r in RespondentRole}
ROLE_SHORT = {r.value: r.short for r in RespondentRole}
LEVEL_NAMES = {1: "Level 1: inputs, processes and structures",
               2: "Level 2: professionals' experiences and attitudes",
               3: "Level 3: outcomes for children, young people and families",
               4: "Level 4: embedding"}


class Suppressed:
    """A count hidden because it is under the threshold; prints as "<5"."""

    def __init__(self, threshold: int):
        self.threshold = threshold

    def __str__(self) -> str:
        return f"<{self.threshold}"

    def __eq__(self, other):
        return isinstance(other, Suppressed) and other.threshold == self.threshold

    __hash__ = None


class Viewer:
    """The person looking, reduced to what presentation needs."""

    def __init__(self, user, threshold: int):
        self.user, self.threshold = user, threshold

    def is_open(self, authority) -> bool:
        return bool(self.user.role.sees_all_names or self.user.may_see_authority(authority.id))

    def name(self, authority) -> str:
        return self.user.authority_display_name(authority)

    def count(self, n: int | None, open_: bool = False):
        """``n``, or a Suppressed marker when it is small and the viewer is not open."""
        if n is None or open_ or n == 0 or n >= self.threshold:
            return n
        return Suppressed(self.threshold)


@dataclass
class Table:
    """A table as shown and as downloaded (CSV, XLSX)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def score_json(score, viewer: Viewer | None) -> dict:
    """The CONTRACTS.md §4 object for one stored score (``viewer`` None: the operator)."""
    a = score.authority
    return {
        "authority": a.name if viewer is None else viewer.name(a),
        "label": a.label,
        "confidence": score.confidence, "ci_low": score.ci_low, "ci_high": score.ci_high,
        "rank": score.rank, "rank_low": score.rank_low, "rank_high": score.rank_high,
        "components": dict(score.components),
        "flags": {k: v for k, v in score.flags.items() if k != "weight_rank_range"},
        "weight_rank_range": score.flags.get("weight_rank_range"),
        "method_version": score.method_version,
    }


def continuum_rows(stored, viewer: Viewer) -> list[dict]:
    rows = []
    for s in stored.scores:
        open_ = viewer.is_open(s.authority)
        resp = s.profile.get("respondents", {})
        staff = sum(resp.get(g, 0) for g in GROUPS)
        rows.append({"score": s, "name": viewer.name(s.authority), "open": open_,
                     "staff": viewer.count(staff, open_),
                     "missing_groups": [ROLE_LABELS[g] for g in s.flags.get("missing_groups", [])],
                     "evidence": EVIDENCE_LABELS.get(s.profile.get("evidence")),
                     "components": s.components})
    return rows


def continuum_table(stored, viewer: Viewer) -> Table:
    t = Table("continuum", "Integration confidence by authority",
              ["Rank", "Authority", "Confidence", "95% interval low", "95% interval high",
               "Rank interval low", "Rank interval high", "Staff interviewed", "Missing groups"]
              + [COMPONENT_LABELS[c[0]] for c in COMPONENTS] + ["Box 6 evidence"],
              note="Ranked from most confident (1). Intervals from a bootstrap over respondents.")
    for r in continuum_rows(stored, viewer):
        s = r["score"]
        t.rows.append([s.rank, r["name"], _round(s.confidence), _round(s.ci_low), _round(s.ci_high),
                       s.rank_low, s.rank_high, r["staff"], "; ".join(r["missing_groups"])]
                      + [_round(s.components.get(c[0])) for c in COMPONENTS] + [r["evidence"]])
    return t


def _round(x, digits=3):
    return None if x is None else round(float(x), digits)


# --------------------------------------------------------------------------- profile

def profile_view(score, viewer: Viewer, labels: dict[str, str]) -> dict:
    """The profile of one authority as this viewer may see it."""
    a = score.authority
    open_ = viewer.is_open(a)
    p = score.profile

    def feature_rows(rows):
        return [{"code": r["code"], "label": labels.get(r["code"], r["code"]),
                 "groups": [GROUP_SHORT[g] for g in r["groups"]], "all_groups": len(r["groups"]) == 3,
                 "respondents": viewer.count(r["respondents"], open_)} for r in rows]

    groups = []
    for g in GROUPS:
        info = p.get("groups", {}).get(g, {})
        n = info.get("n", 0)
        visible = open_ or n >= viewer.threshold
        groups.append({"id": g, "label": ROLE_LABELS[g], "short": GROUP_SHORT[g],
                       "n": viewer.count(n, open_), "present": n > 0, "visible": visible and n > 0,
                       "mean": info.get("mean") if visible else None,
                       "min": info.get("min") if visible else None,
                       "max": info.get("max") if visible else None,
                       "distribution": info.get("distribution", {}) if visible else {},
                       "impact_levels_named": {k: viewer.count(v, open_) for k, v in
                                               info.get("impact_levels_named", {}).items()}
                       if visible else {}})
    gaps = p.get("gaps", {"rows": [], "tested": 0})
    gap_rows = []
    for r in gaps.get("rows", []):
        row = {"code": r["code"], "label": labels.get(r["code"], r["code"]), "valence": r["valence"],
               "p": r["p"], "q": r["q"], "direction": "managers" if r["difference"] > 0 else "practitioners"}
        if open_:
            row.update(manager=f'{r["manager_mentions"]} of {r["manager_n"]}',
                       practitioner=f'{r["practitioner_mentions"]} of {r["practitioner_n"]}')
        gap_rows.append(row)
    return {
        "name": viewer.name(a), "open": open_, "score": score,
        "positive": feature_rows(p.get("positive", [])),
        "to_develop": feature_rows(p.get("to_develop", [])),
        "groups": groups,
        "quotes": [{"role": ROLE_LABELS.get(q["role"], q["role"]), "text": q["text"]}
                   for q in p.get("quotes", [])] if open_ else [],
        "quotes_hidden": (not open_) and bool(p.get("quotes")),
        "gaps": gap_rows, "gaps_tested": gaps.get("tested", 0),
        "evidence": EVIDENCE_LABELS.get(p.get("evidence")),
        "respondents": {k: viewer.count(v, open_) for k, v in p.get("respondents", {}).items()},
        "missing_groups": [ROLE_LABELS[g] for g in score.flags.get("missing_groups", [])],
        "no_levels": [ROLE_LABELS[g] for g in score.flags.get("no_levels", [])],
        "components": [{"id": c[0], "label": COMPONENT_LABELS[c[0]], "weight": c[1], "about": c[2],
                        "value": score.components.get(c[0])} for c in COMPONENTS],
    }


def profile_tables(view: dict) -> dict[str, Table]:
    pos = Table("positive", "Features perceived to lead to better outcomes",
                ["Feature", "Named by", "Respondents"],
                [[r["label"], ", ".join(r["groups"]), r["respondents"]] for r in view["positive"]])
    dev = Table("to_develop", "Features still to develop", ["Feature", "Named by", "Respondents"],
                [[r["label"], ", ".join(r["groups"]), r["respondents"]] for r in view["to_develop"]])
    lv = Table("levels", "Self-reported level of impact by group",
               ["Group", "People", "Mean level", "Lowest", "Highest"],
               [[g["label"], g["n"], _round(g["mean"], 2), g["min"], g["max"]] for g in view["groups"]],
               note="Levels of a group with fewer people than the threshold are not shown to viewers "
                    "outside the authority.")
    gaps = Table("gaps", "Where managers and practitioners differ",
                 ["Code", "Valence", "Mentioned more by", "p (Fisher exact)", "q (BH)"]
                 + (["Managers", "Practitioners"] if view["open"] else []),
                 [[r["label"], r["valence"], r["direction"], _round(r["p"], 4), _round(r["q"], 4)]
                  + ([r["manager"], r["practitioner"]] if view["open"] else []) for r in view["gaps"]])
    comps = Table("components", "Components of the confidence index", ["Component", "Weight", "Value"],
                  [[c["label"], c["weight"], _round(c["value"])] for c in view["components"]])
    return {t.name: t for t in (pos, dev, lv, gaps, comps)}


# --------------------------------------------------------------------------- round report

def report_tables(stored, viewer: Viewer) -> dict[str, Table]:
    """The round report's tables; consortium counts under the threshold are suppressed."""
    summary = stored.scoring.summary if stored.scoring else {}
    labels = summary.get("labels", {})
    steering = set(summary.get("steering", []))
    count = viewer.count
    out: dict[str, Table] = {}

    roles = [r.value for r in RespondentRole]
    imp = Table("impacts", "Impacts at each level, by group",
                ["Level", "Impact"] + [ROLE_LABELS[r] for r in roles] + ["Authorities"],
                note="Respondents naming each impact; counts under the threshold are shown as <5.")
    for row in summary.get("impacts_by_level", []):
        if not any(row["respondents"].values()):
            continue
        imp.rows.append([row["level"], labels.get(row["code"], row["code"])]
                        + [count(row["respondents"][r]) for r in roles] + [count(row["authorities"])])
    out["impacts"] = imp

    t1 = summary.get("table1", {})
    parents, children = t1.get("parent", []), t1.get("child", [])
    table1 = Table("table1", "Table 1. Parents' and children's views on support received",
                   ["Rank", "Parents' views: 'impacts on my child'", "Parents", "Children's views: 'impacts on me'",
                    "Children"],
                   note=f"Each view was given by {t1.get('minimum', 5)} or more individuals; ranked by "
                        "how many gave it.")
    for i in range(max(len(parents), len(children))):
        p = parents[i] if i < len(parents) else None
        c = children[i] if i < len(children) else None
        table1.rows.append([i + 1, labels.get(p["code"]) if p else "", count(p["respondents"]) if p else "",
                            labels.get(c["code"]) if c else "", count(c["respondents"]) if c else ""])
    out["table1"] = table1

    t2 = summary.get("table2", {})
    table2 = Table("table2", "Table 2. Key contributing features: DCS, manager and practitioner views",
                   ["Group", "Rank", "Feature", "Authorities", "Participants"],
                   note=f"Features named in at least half the authorities ({t2.get('minimum_authorities', '–')} "
                        f"of {t2.get('authorities', '–')}), ranked by authorities then participants. "
                        "* one of the External Steering Group's nine features.")
    for g in GROUPS:
        for i, r in enumerate(t2.get("groups", {}).get(g, []), 1):
            table2.rows.append([ROLE_LABELS[g], i, labels.get(r["code"], r["code"]) + ("*" if r["code"] in steering else ""),
                                count(r["authorities"]), count(r["respondents"])])
    out["table2"] = table2

    gaps = summary.get("gaps", {})
    gt = Table("gaps", "Where managers and practitioners differ (all authorities pooled)",
               ["Code", "Valence", "Managers mentioning", "Managers", "Practitioners mentioning",
                "Practitioners", "Mentioned more by", "p (Fisher exact)", "q (BH)"],
               note=f"{gaps.get('tested', 0)} codes tested; q is the Benjamini-Hochberg adjusted p-value.")
    for r in gaps.get("rows", []):
        gt.rows.append([labels.get(r["code"], r["code"]), r["valence"], count(r["manager_mentions"]),
                        count(r["manager_n"]), count(r["practitioner_mentions"]), count(r["practitioner_n"]),
                        "managers" if r["difference"] > 0 else "practitioners", _round(r["p"], 4),
                        _round(r["q"], 4)])
    out["gaps"] = gt
    out["continuum"] = continuum_table(stored, viewer)
    return out


def change_rows(stored, earlier: dict, viewer: Viewer) -> list[dict]:
    """Round-over-round change for authorities scored in an earlier round."""
    rows = []
    for s in stored.scores:
        prev = earlier.get(s.authority_id)
        if prev is None or s.confidence is None:
            continue
        rnd, old = prev
        overlap = not (old.ci_high is not None and s.ci_low is not None and old.ci_high < s.ci_low) and \
            not (s.ci_high is not None and old.ci_low is not None and s.ci_high < old.ci_low)
        rows.append({"name": viewer.name(s.authority), "round": rnd.name, "before": old.confidence,
                     "before_low": old.ci_low, "before_high": old.ci_high, "after": s.confidence,
                     "after_low": s.ci_low, "after_high": s.ci_high,
                     "change": s.confidence - old.confidence, "clear": not overlap,
                     "rank_before": old.rank, "rank_after": s.rank})
    rows.sort(key=lambda r: -r["change"])
    return rows


def change_table(rows: list[dict]) -> Table:
    return Table("change", "Change since the authority's previous round",
                 ["Authority", "Previous round", "Before", "Now", "Change", "Intervals separate"],
                 [[r["name"], r["round"], _round(r["before"]), _round(r["after"]), _round(r["change"]),
                   "yes" if r["clear"] else "no"] for r in rows],
                 note="'Intervals separate' means the two 95% intervals do not overlap.")
