"""Agreement, reliability and consensus statistics for impactmodel.

Every function takes plain array-likes, so the package depends on numpy
and scipy only. Matrices have one row per unit (subject, target, coded
segment) and one column per rater, with ``nan`` for a missing rating.

Degenerate-input policy, shared by all functions:

* A statistic that is undefined for valid input (no variation, so the
  expected disagreement or a variance is 0; no unit rated twice) is
  ``nan``, never a made-up 0 or 1.
* Malformed input (wrong shape, too few raters, infinite values, missing
  values where none are allowed, negative counts, values outside the
  declared categories or scale, unknown options) raises ``ValueError``
  saying what is wrong.

See docs/STATS.md for the formulas, sources and benchmark figures.
"""

from .agreement import cohen_kappa, fleiss_kappa, gwet_ac1, percent_agreement
from .bootstrap import BootstrapCI, bootstrap_ci, cluster_weights, percentile_ci
from .coding import (CodeAgreement, MultiCodeAgreement, PresenceCounts, agreement_from_counts,
                     multicode_agreement, presence_counts)
from .consensus import GroupConsensus, group_consensus, tastle_wierman
from .icc import icc, kendall_w
from .krippendorff import krippendorff_alpha
from .multivalued import MultiValuedCounts, krippendorff_mv_alpha, multi_valued_counts, mv_alpha_from_counts
from .withingroup import ad_index, rwg, rwg_j

__all__ = [
    "BootstrapCI",
    "CodeAgreement",
    "GroupConsensus",
    "MultiCodeAgreement",
    "MultiValuedCounts",
    "PresenceCounts",
    "ad_index",
    "agreement_from_counts",
    "bootstrap_ci",
    "cluster_weights",
    "cohen_kappa",
    "fleiss_kappa",
    "group_consensus",
    "gwet_ac1",
    "icc",
    "kendall_w",
    "krippendorff_alpha",
    "krippendorff_mv_alpha",
    "multicode_agreement",
    "multi_valued_counts",
    "mv_alpha_from_counts",
    "percent_agreement",
    "percentile_ci",
    "presence_counts",
    "rwg",
    "rwg_j",
    "tastle_wierman",
]
