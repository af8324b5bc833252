"""What a viewer may see of stored results: names or labels, counts or "<5".

Rules (docs/METHODOLOGY.md "Who sees what"):

* A viewer is *open* to an authority when their role sees all names (admins) or
  they may see it (a researcher's assigned authorities, a contact's own). Open
  viewers see its name, locality, quotes and exact counts.
* Everyone else sees the anonymised label; per-authority counts under the
  small-number threshold show as "<5", a group's levels are shown only when the
  group has at least that many people, and quotes are not shown.
* Consortium tables (Tables 1 and 2, impacts by level, consortium gaps) are
  consortium outputs: counts of people under the threshold are suppressed for
  every viewer. Counts of authorities are not about people and are shown.
* Complementary suppression (docs/METHODOLOGY.md "Disclosure control"): what
  would let a hidden count or a hidden group's levels be worked back out is
  hidden too (:func:`disclosure`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from impactmodel.enums import RespondentRole
from impactmodel.scoring.core import COMPONENTS, GROUP_SHORT, GROUPS
from impactmodel.scoring.core import difference as core_difference
from impactmodel.scoring.report import SHARED_MOST

COMPONENT_LABELS = {
    "level_centre": "Level of impact",
    "level_agreement": "Agreement on level",
    "impact_agreement": "Agreement on types of impact",
    "feature_agreement": "Agreement on features",
    "shared_features": "Features named by all three groups",
    "feature_balance": "Positive vs to develop",
}
EVIDENCE_LABELS = {
    "early_days": "Early days: cannot confidently ascribe yet",
    "not_ascribed": "Improvements ascribed to earlier work",
    "ascribed": "Improvements ascribed to integrated services",
    "no_response": "No response",
    None: "Not recorded",
}
SELECTION_LABELS = {"sampled": "sampled at random from their group",
                    "nominated": "nominated by the authority (the intervals assume a random sample: nominated "
                                 "staff may be the most engaged)",
                    "census": "all interviewed (a census)"}
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


class Withheld:
    """A value hidden so that a suppressed one cannot be worked out from it; prints as "hidden"."""

    def __str__(self) -> str:
        return "hidden"

    def __eq__(self, other):
        return isinstance(other, Withheld)

    __hash__ = None


WITHHELD = Withheld()


def is_hidden(value) -> bool:
    return isinstance(value, (Suppressed, Withheld))


class Shown:
    """A number with the text readers see; downloads keep the number.

    ``digits`` set: a decimal shown (and written to CSV) with that many places.
    ``digits`` None: a p-value, shown as "< 0.001" or with 3 significant digits,
    written to downloads unrounded.
    """

    def __init__(self, value: float, text: str, digits: int | None):
        self.value, self.text, self.digits = value, text, digits

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other):
        return isinstance(other, Shown) and (self.value, self.text) == (other.value, other.text)

    __hash__ = None


def dec(x, digits: int = 2):
    """A score, share or mean, always with ``digits`` decimal places."""
    if x is None or is_hidden(x):
        return x
    return Shown(float(x), f"{float(x):.{digits}f}", digits)


def pval(p):
    """A p- or q-value: "< 0.001", else three significant digits (0.0349, 0.500, 1.00)."""
    if p is None:
        return None
    p = float(p)
    return Shown(p, "< 0.001" if p < 0.001 else f"{p:#.3g}", None)


VALENCE_LABELS = {"any": "impact", "positive": "positive", "to_develop": "to develop",
                  "negative": "negative"}
# The components that combine every staff group's self-reported levels.
LEVEL_COMPONENTS = ("level_centre", "level_agreement")
# Hidden with them when any group's levels are hidden: otherwise the index minus
# the shown components gives 0.2 * level_centre + 0.1 * level_agreement, and a
# search over the hidden members' half-step levels finds them. The first of these
# that is defined is hidden; its weight (0.25 for agreement on impacts) is close
# to the most the level components can move the index (0.3), so one residual
# fits many combinations of hidden levels.
COMPLEMENTARY_COMPONENTS = ("impact_agreement", "feature_agreement", "shared_features",
                            "feature_balance")


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
    """The JSON object (as `impactmodel score --json` prints it) for one stored score (``viewer`` None: the operator).

    ``n`` gives the staff interviewed per group (small counts shown as "<5" to
    viewers outside the authority); an authority that could not be placed has
    ``confidence`` null and a ``reason``. ``label`` (the anonymised label) is given
    only beside names everyone at that level already sees (the operator, admins):
    a contact or researcher who sees an authority named would otherwise learn its
    label, and with it the authority in every labelled output.
    """
    a = score.authority
    hidden = set() if viewer is None else disclosure(score, viewer)["hidden_components"]
    out = {
        "authority": a.name if viewer is None else viewer.name(a),
        "confidence": score.confidence, "ci_low": score.ci_low, "ci_high": score.ci_high,
        "rank": score.rank, "rank_low": score.rank_low, "rank_high": score.rank_high,
        "tied": bool(score.flags.get("tied")),
        "n": staff_counts(score, viewer),
        "components": {k: (None if k in hidden else v) for k, v in score.components.items()},
        "se": score.se, "df": score.df,
        "flags": {k: v for k, v in score.flags.items() if k != "weight_rank_range"},
        "weight_rank_range": score.flags.get("weight_rank_range"),
        "method_version": score.method_version,
    }
    if score.confidence is None:
        out["reason"] = score.reason or "no staff interviewed"
    if viewer is None or viewer.user.role.sees_all_names:
        out["label"] = a.label
    return out


def staff_counts(score, viewer: Viewer | None) -> dict:
    """Staff interviewed per group, as this viewer may see them (JSON-ready)."""
    ns = group_sizes(score)
    if viewer is None:
        return ns
    open_ = viewer.is_open(score.authority)
    return {g: (str(c) if is_hidden(c) else c) for g, c in ((g, viewer.count(n, open_)) for g, n in ns.items())}


def group_sizes(score) -> dict[str, int]:
    """Staff interviewed per group: stored with method 2.0, read from the profile before."""
    if score.n:
        return {g: int(score.n.get(g, 0)) for g in GROUPS}
    return {g: int(score.profile.get("groups", {}).get(g, {}).get("n",
                   score.profile.get("respondents", {}).get(g, 0))) for g in GROUPS}


def n_text(counts: dict) -> str:
    """"1 DCS · 3 SM · 5 PR": staff interviewed per group, beside every score."""
    return " · ".join(f"{counts[g]} {GROUP_SHORT[g]}" for g in GROUPS)


def rank_text(score) -> str:
    """"3" or "=3" when another authority has exactly the same index."""
    if score.rank is None:
        return "–"
    return f"={score.rank}" if score.flags.get("tied") else str(score.rank)


def disclosure(score, viewer: Viewer) -> dict:
    """What of one authority's staff counts, levels and components this viewer may see.

    The rule (docs/METHODOLOGY.md "Disclosure control"), for a viewer not open
    to the authority:

    1. a staff group's count shows when it is 0 or at least the threshold, else "<5";
    2. the staff total is hidden when any group count is suppressed (total minus
       the shown groups would give the hidden ones);
    3. a group's levels (mean, range, distribution) show only when the group has at
       least the threshold of people;
    4. when any group with members has its levels hidden, the two level
       components and one complementary component are hidden. With the shown
       groups' levels, "Level of impact" and "Agreement on level" leave so few
       combinations of the hidden members' half-step levels that a search finds
       them (one director and three managers: 7^4 combinations, one fits); the
       index minus the shown components would give their weighted sum back, so a
       non-level component is hidden with them.

    Returns
    -------
    dict
        ``open``, ``counts`` (group -> shown count), ``total`` (staff total or a
        hidden marker), ``visible`` (group -> levels shown), ``hidden_components``.
    """
    open_ = viewer.is_open(score.authority)
    ns = group_sizes(score)
    counts = {g: viewer.count(n, open_) for g, n in ns.items()}
    total = sum(ns.values())
    if any(is_hidden(c) for c in counts.values()):
        total = WITHHELD
    visible = {g: open_ or n >= viewer.threshold for g, n in ns.items()}
    hidden_groups = [g for g, n in ns.items() if n > 0 and not visible[g]]
    hidden_components: set[str] = set()
    if hidden_groups:
        hidden_components = set(LEVEL_COMPONENTS)
        complement = next((c for c in COMPLEMENTARY_COMPONENTS
                           if score.components.get(c) is not None), None)
        if complement is not None:
            hidden_components.add(complement)
    return {"open": open_, "counts": counts, "total": total, "visible": visible,
            "hidden_groups": hidden_groups, "hidden_components": hidden_components}


def shown_components(score, hidden: set[str]) -> dict:
    return {k: (WITHHELD if k in hidden else v) for k, v in score.components.items()}


def continuum_rows(stored, viewer: Viewer) -> list[dict]:
    rows = []
    for s in stored.scores:
        d = disclosure(s, viewer)
        open_ = d["open"]
        rows.append({"score": s, "name": viewer.name(s.authority), "open": open_,
                     "staff": d["total"], "n": d["counts"], "n_text": n_text(d["counts"]),
                     "rank_text": rank_text(s), "placed": s.confidence is not None,
                     "reason": None if s.confidence is not None else (s.reason or "no staff interviewed"),
                     "hidden_components": d["hidden_components"],
                     "missing_groups": [ROLE_LABELS[g] for g in s.flags.get("missing_groups", [])],
                     "evidence": EVIDENCE_LABELS.get(s.evidence),
                     "components": shown_components(s, d["hidden_components"])})
    return rows


def method_note(method_version: str | None) -> str:
    if method_version == "1.0":
        return ("Method 1.0 (bootstrap intervals; superseded): recompute the round to score it with "
                "method 2.0.")
    return (f"Method {method_version}: intervals from a jackknife over the staff interviewed, stratified "
            "by group, with t quantiles; they assume the staff interviewed were a random sample of their group.")


def continuum_table(stored, viewer: Viewer, rows: list[dict] | None = None) -> Table:
    """The continuum as a table; ``rows``: ``continuum_rows(stored, viewer)``, when the
    caller has them already."""
    t = Table("continuum", "Integration confidence by authority",
              ["Rank", "Authority", "Confidence", "95% interval low", "95% interval high",
               "Rank interval low", "Rank interval high", "Interviewed (DCS · SM · PR)", "Not placed because"]
              + [COMPONENT_LABELS[c[0]] for c in COMPONENTS] + ["Box 6 evidence"],
              note="Ranked from most confident (1); '=' marks equal values. "
                   + method_note(stored.scoring.method_version if stored.scoring else None))
    rows = continuum_rows(stored, viewer) if rows is None else rows
    for r in rows:
        s = r["score"]
        t.rows.append([r["rank_text"] if s.rank is not None else None, r["name"], dec(s.confidence),
                       dec(s.ci_low), dec(s.ci_high), s.rank_low, s.rank_high]
                      + [" · ".join(str(r["n"][g]) for g in GROUPS), r["reason"] or ""]
                      + [dec(r["components"].get(c[0])) for c in COMPONENTS] + [r["evidence"]])
    if any(r["hidden_components"] for r in rows):
        t.note += (" 'hidden': not shown so that a group with fewer than "
                   f"{viewer.threshold} people cannot be worked out.")
    return t


# --------------------------------------------------------------------------- profile

def profile_view(score, viewer: Viewer, labels: dict[str, str]) -> dict:
    """The profile of one authority as this viewer may see it."""
    a = score.authority
    d = disclosure(score, viewer)
    open_ = d["open"]
    p = score.profile

    def feature_rows(rows):
        # Results of method 1.0 carry no trio shares: their "all groups" was anyone in each group.
        return [{"code": r["code"], "label": labels.get(r["code"], r["code"]),
                 "groups": [GROUP_SHORT[g] for g in r["groups"]],
                 "trios": r.get("trios"),
                 "all_groups": r["trios"] >= SHARED_MOST if "trios" in r else len(r["groups"]) == 3,
                 "respondents": viewer.count(r["respondents"], open_)} for r in rows]

    groups = []
    for g in GROUPS:
        info = p.get("groups", {}).get(g, {})
        n = info.get("n", 0)
        visible = d["visible"][g]
        groups.append({"id": g, "label": ROLE_LABELS[g], "short": GROUP_SHORT[g],
                       "n": d["counts"][g], "present": n > 0, "visible": visible and n > 0,
                       "mean": info.get("mean") if visible else None,
                       "min": info.get("min") if visible else None,
                       "max": info.get("max") if visible else None,
                       "distribution": info.get("distribution", {}) if visible else {},
                       "impact_levels_named": {k: viewer.count(v, open_) for k, v in
                                               info.get("impact_levels_named", {}).items()}
                       if visible else {}})
    gaps = p.get("gaps", {"rows": [], "tested": 0})
    gap_rows = []
    # A p-value and its direction narrow down how many of a small group named a code.
    gaps_hidden = not open_ and any(0 < p.get("groups", {}).get(g, {}).get("n", 0) < viewer.threshold
                                    for g in ("manager", "practitioner"))
    for r in ([] if gaps_hidden else gaps.get("rows", [])):
        row = {"code": r["code"], "label": labels.get(r["code"], r["code"]),
               "valence": VALENCE_LABELS.get(r["valence"], r["valence"]),
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
        "gaps": gap_rows, "gaps_tested": gaps.get("tested", 0), "gaps_hidden": gaps_hidden,
        "gaps_too_few": bool(gaps.get("too_few")) and not gaps_hidden,
        "gaps_min_p": pval(gaps.get("smallest_possible_p", 1.0)),
        "gaps_sizes": f"{gaps.get('managers', 0)} managers and {gaps.get('practitioners', 0)} practitioners",
        "evidence": EVIDENCE_LABELS.get(p.get("evidence")),
        "respondents": {k: viewer.count(v, open_) for k, v in p.get("respondents", {}).items()},
        "staff_total": d["total"],
        "missing_groups": [ROLE_LABELS[g] for g in score.flags.get("missing_groups", [])],
        "no_levels": [ROLE_LABELS[g] for g in score.flags.get("no_levels", [])],
        "components": [{"id": c[0], "label": COMPONENT_LABELS[c[0]], "weight": c[1], "about": c[2],
                        "hidden": c[0] in d["hidden_components"],
                        "value": None if c[0] in d["hidden_components"] else score.components.get(c[0])}
                       for c in COMPONENTS],
        "components_hidden": bool(d["hidden_components"]), "threshold": viewer.threshold,
        "n_text": n_text(d["counts"]), "rank_text": rank_text(score),
        "staff_selection": SELECTION_LABELS.get(p.get("staff_selection")),
        "method_note": method_note(score.method_version),
    }


def key_group_view(score, viewer: Viewer, labels: dict[str, str], key_group: str, label: str) -> dict:
    """An authority's features as named by its staff working with one key group.

    Counts follow the profile's rule: exact to viewers open to the authority, else
    "<5" under the threshold. ``stored`` is false for scores computed before key
    groups were stored with them; ``staff`` is None when no staff member works with it.
    """
    own = score.profile.get("key_groups", {}).get(key_group)
    open_ = viewer.is_open(score.authority)

    def rows(found):
        return [{"label": labels.get(r["code"], r["code"]), "groups": [GROUP_SHORT[g] for g in r["groups"]],
                 "respondents": viewer.count(r["respondents"], open_)} for r in found]
    if own is None:
        return {"code": key_group, "label": label, "stored": "key_groups" in score.profile,
                "staff": None, "positive": [], "to_develop": []}
    return {"code": key_group, "label": label, "stored": True,
            "staff": n_text({g: viewer.count(n, open_) for g, n in own["staff"].items()}),
            "positive": rows(own["positive"]), "to_develop": rows(own["to_develop"])}


def profile_tables(view: dict) -> dict[str, Table]:
    pos = Table("positive", "Features perceived to lead to better outcomes",
                ["Feature", "Named by", "Respondents"],
                [[r["label"], ", ".join(r["groups"]), r["respondents"]] for r in view["positive"]])
    dev = Table("to_develop", "Features still to develop", ["Feature", "Named by", "Respondents"],
                [[r["label"], ", ".join(r["groups"]), r["respondents"]] for r in view["to_develop"]])
    lv = Table("levels", "Self-reported level of impact by group",
               ["Group", "People", "Mean level", "Lowest", "Highest"],
               [[g["label"], g["n"], dec(g["mean"]), dec(g["min"], 1), dec(g["max"], 1)] for g in view["groups"]],
               note="Levels of a group with fewer people than the threshold are not shown to viewers "
                    "outside the authority.")
    gaps = Table("gaps", "Where managers and practitioners differ",
                 ["Code", "Valence", "Mentioned more by", "p (Fisher exact)", "q (BH)"]
                 + (["Managers", "Practitioners"] if view["open"] else []),
                 [[r["label"], r["valence"], r["direction"], pval(r["p"]), pval(r["q"])]
                  + ([r["manager"], r["practitioner"]] if view["open"] else []) for r in view["gaps"]],
                 note=(f"Not shown: managers or practitioners are fewer than {view['threshold']}, and a "
                       "test on so few people could show who named what." if view["gaps_hidden"] else ""))
    comps = Table("components", "Components of the confidence index", ["Component", "Weight", "Value"],
                  [[c["label"], dec(c["weight"]), WITHHELD if c["hidden"] else dec(c["value"])]
                   for c in view["components"]],
                  note=("'hidden': not shown so that the levels of a group with fewer people than the "
                        "threshold cannot be worked out from the index." if view["components_hidden"] else ""))
    return {t.name: t for t in (pos, dev, lv, gaps, comps)}


# --------------------------------------------------------------------------- round report

# Report sections that can be read for one key group's respondents.
KEY_GROUP_PARTS = ("impacts_by_level", "table1", "table2", "to_develop", "respondents_by_role")
KEY_GROUP_TABLES = ("impacts", "table1", "table2", "to_develop")


def key_group_summary(summary: dict, key_group: str | None) -> dict:
    """The stored summary with its key-group parts replaced by ``key_group``'s respondents'.

    A key group the stored results do not hold (scored before key groups were
    stored, or none of its respondents took part) gives those parts empty.
    """
    if not key_group:
        return summary
    own = summary.get("key_groups", {}).get(key_group, {})
    return {**summary, **{part: own.get(part, [] if part == "impacts_by_level" else {})
                          for part in KEY_GROUP_PARTS}}


def report_tables(stored, viewer: Viewer, key_group: str | None = None, names=None,
                  rows: list[dict] | None = None) -> dict[str, Table]:
    """The round report's tables (those of ``names``, or all); consortium counts under the
    threshold are suppressed. ``rows``: the continuum's, when the caller has them already.

    With ``key_group``, the tables of KEY_GROUP_TABLES count only that key group's
    respondents (and say so in their note); the others are the whole round's.
    """
    summary = key_group_summary(stored.scoring.summary if stored.scoring else {}, key_group)
    labels = summary.get("labels", {})
    steering = set(summary.get("steering", []))
    count = viewer.count
    out: dict[str, Table] = {}

    def wanted(name: str) -> bool:
        return names is None or name in names

    if wanted("impacts"):
        roles = [r.value for r in RespondentRole]
        imp = Table("impacts", "Impacts at each level, by group",
                    ["Level", "Impact"] + [ROLE_LABELS[r] for r in roles] + ["Authorities"],
                    note="Respondents naming each impact, and authorities where anyone named it; counts of people "
                         "under the threshold are shown as <5.")
        for row in summary.get("impacts_by_level", []):
            if not any(row["respondents"].values()):
                continue
            imp.rows.append([row["level"], labels.get(row["code"], row["code"])]
                            + [count(row["respondents"][r]) for r in roles] + [row["authorities"]])
        out["impacts"] = imp

    if wanted("embedding"):
        emb = Table("embedding", "Level 4: embedding achieved and hoped for, by group",
                    ["Embedding"] + [f"{GROUP_SHORT[g]}: now" for g in GROUPS]
                    + [f"{GROUP_SHORT[g]}: to come" for g in GROUPS],
                    note="Staff (DCS, service managers SM, practitioners PR) naming each sign of embedding as "
                         "happening now, part of everyday practice, and as a sign still to come (an aspiration). "
                         "Only embedding happening now counts as an impact in the index.")
        for row in summary.get("embedding", []):
            emb.rows.append([labels.get(row["code"], row["code"])] + [count(row["achieved"][g]) for g in GROUPS]
                            + [count(row["aspiration"][g]) for g in GROUPS])
        out["embedding"] = emb

    if wanted("progress"):
        prog = Table("progress", "Too early to say, and a shared understanding of integration",
                     ["Answer"] + [ROLE_LABELS[g] for g in GROUPS] + ["Authorities"],
                     note="Staff saying it is too early to say what difference integration has made, and whether the "
                          "meaning of integrated services is shared across the authority and its partners.")
        progress_labels = {("P.too_early", "positive"): "Too early to say",
                           ("P.shared_understanding", "positive"): "Understanding shared across the authority",
                           ("P.shared_understanding", "to_develop"): "Understanding only partly or not yet shared"}
        for row in summary.get("progress", []):
            prog.rows.append([progress_labels.get((row["code"], row["valence"]), row["code"])]
                             + [count(row["respondents"][g]) for g in GROUPS] + [row["authorities"]])
        out["progress"] = prog

    if wanted("table1"):
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

    if wanted("table2"):
        t2 = summary.get("table2", {})
        table2 = Table("table2", "Table 2. Key contributing features: DCS, manager and practitioner views",
                       ["Group", "Rank", "Feature", "Authorities", "Participants"],
                       note=f"Features named in at least half the authorities ({t2.get('minimum_authorities', '–')} "
                            f"of {t2.get('authorities', '–')}), ranked by authorities then participants. "
                            "* one of the External Steering Group's nine features.")
        for g in GROUPS:
            for i, r in enumerate(t2.get("groups", {}).get(g, []), 1):
                feature = labels.get(r["code"], r["code"]) + ("*" if r["code"] in steering else "")
                table2.rows.append([ROLE_LABELS[g], i, feature, r["authorities"], count(r["respondents"])])
        out["table2"] = table2

    if wanted("gaps") or wanted("gaps_shown"):
        gaps = summary.get("gaps", {})
        cmh = gaps.get("test") == "cmh"
        gt = Table("gaps", "Where managers and practitioners differ" + (
                       " (stratified by authority)" if cmh else " (all authorities pooled)"),
                   ["Code", "Valence", "Managers mentioning", "Managers", "Practitioners mentioning",
                    "Practitioners", "More by", "Difference",
                    "p (CMH)" if cmh else "p (Fisher exact)", "q (BH)"],
                   note=f"{gaps.get('tested', 0)} codes tested; "
                        + ("p from the Cochran-Mantel-Haenszel test across authorities; " if cmh else "")
                        + "q is the Benjamini-Hochberg adjusted p-value."
                        + (f" Authorities with both managers and practitioners: {gaps.get('authorities', 0)}."
                           if cmh else " Results of method 1.0: staff pooled across authorities."))
        for r in gaps.get("rows", []):
            gt.rows.append([labels.get(r["code"], r["code"]), VALENCE_LABELS.get(r["valence"], r["valence"]),
                            count(r["manager_mentions"]), count(r["manager_n"]), count(r["practitioner_mentions"]),
                            count(r["practitioner_n"]), "managers" if r["difference"] > 0 else "practitioners",
                            dec(r["difference"]), pval(r["p"]), pval(r["q"])])
        out["gaps"] = gt
        out["gaps_shown"] = gaps_shown(gt, gaps.get("rows", []))
    if wanted("continuum"):
        out["continuum"] = continuum_table(stored, viewer, rows)
    if key_group:
        label = summary.get("key_groups", {}).get(key_group, {}).get("label", key_group)
        for name in KEY_GROUP_TABLES[:3]:
            if name in out:
                out[name].note = f"Respondents of the key group '{label}' only. {out[name].note}"
    return out


GAPS_Q_SHOWN = 0.1
GAPS_TOP = 10


def gaps_shown(full: Table, rows: list[dict]) -> Table:
    """The consortium gaps the printed report shows: q < 0.1, or else the 10 smallest p.

    ``rows`` are the stored gap rows in the order of ``full.rows`` (smallest p first).
    The full table stays a download.
    """
    keep = [i for i, r in enumerate(rows) if r["q"] < GAPS_Q_SHOWN]
    if keep:
        why = f"codes with q < {GAPS_Q_SHOWN:g}"
    else:
        keep = list(range(min(GAPS_TOP, len(rows))))
        why = f"no code had q < {GAPS_Q_SHOWN:g}; the {len(keep)} smallest p-values"
    others = len(rows) - len(keep)
    note = f"Shown: {why}. {full.note}"
    if others:
        note += f" {others} other code{'s' if others != 1 else ''} tested are in the full table (download)."
    return Table("gaps_shown", full.title, full.columns, [full.rows[i] for i in keep], note=note)


def comparable(earlier_scoring, scoring) -> str | None:
    """Why two rounds' scores cannot be compared, or None when they can.

    Same method, and the same code ids, groups and valences (a reworded label or
    description is not a change of method).
    """
    if earlier_scoring is None or scoring is None:
        return "no stored results"
    if earlier_scoring.method_version != scoring.method_version:
        return (f"scored with method {earlier_scoring.method_version} then {scoring.method_version}: "
                "recompute the earlier round to compare")
    if not earlier_scoring.codebook_signature or earlier_scoring.codebook_signature != scoring.codebook_signature:
        return "the codebook's codes, groups or valences changed between the rounds"
    return None


def change_rows(stored, earlier: dict, viewer: Viewer) -> list[dict]:
    """Round-over-round change for authorities placed in an earlier round.

    The change has its own 95% interval (the two rounds' samples taken as
    independent); rounds scored with a different method or codebook structure are
    listed with the reason instead of a change.
    """
    rows = []
    for s in stored.scores:
        prev = earlier.get(s.authority_id)
        if prev is None or s.confidence is None:
            continue
        rnd, old, old_scoring = prev
        why_not = comparable(old_scoring, stored.scoring)
        row = {"name": viewer.name(s.authority), "round": rnd.name, "before": old.confidence,
               "after": s.confidence, "rank_before": old.rank, "rank_after": s.rank,
               "n_before": n_text(staff_counts_shown(old, viewer)), "n_after": n_text(staff_counts_shown(s, viewer)),
               "why_not": why_not, "change": None, "low": None, "high": None, "clear": None}
        if why_not is None and old.se is not None and s.se is not None:
            d = core_difference((old.confidence, old.se, old.df), (s.confidence, s.se, s.df))
            row.update(change=d["difference"], low=d["low"], high=d["high"], clear=d["separate"])
        elif why_not is None:
            row["why_not"] = "no standard error stored for one of the rounds"
        rows.append(row)
    rows.sort(key=lambda r: (r["change"] is None, -(r["change"] or 0)))
    return rows


def staff_counts_shown(score, viewer: Viewer) -> dict:
    open_ = viewer.is_open(score.authority)
    return {g: viewer.count(n, open_) for g, n in group_sizes(score).items()}


def change_table(rows: list[dict]) -> Table:
    return Table("change", "Change since the authority's previous round",
                 ["Authority", "Previous round", "Before", "Interviewed before", "Now", "Interviewed now",
                  "Change", "95% interval low", "95% interval high", "Change clear of zero", "Not compared because"],
                 [[r["name"], r["round"], dec(r["before"]), r["n_before"], dec(r["after"]), r["n_after"],
                   dec(r["change"]), dec(r["low"]), dec(r["high"]),
                   "" if r["clear"] is None else ("yes" if r["clear"] else "no"), r["why_not"] or ""]
                  for r in rows],
                 note="The change has its own 95% interval; 'clear of zero' means that interval excludes no change. "
                      "Rounds scored with another method or codebook structure are not compared.")
