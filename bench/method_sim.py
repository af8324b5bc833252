"""How the confidence index behaves when an authority's staff are sampled.

Simulates authorities from known staff populations (one director, a few dozen
managers, many practitioners), interviews them with Round 1's design (1 DCS,
3 managers, 5 practitioners), a larger design (1 + 9 + 20) and in full, scores
every interview set through the scoring path, and prints, against the value a
census of the staff gives:

* bias of each design and the mean difference between the two designs;
* the share of same-staff pairs (one interview set of each design) whose 95%
  intervals do not overlap;
* the coverage and median width of the 95% intervals;
* the spread of the full-staff values across authorities and the correlation of
  sampled with full-staff values (the index must keep telling authorities apart).

Usage::

    .venv/bin/python bench/method_sim.py [--populations 300] [--samples 6] [--seed 1]
        [--through-database]   # also score one round through import coded/levels and score --json

docs/METHODOLOGY.md carries the table this prints.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from impactmodel.scoring import core  # noqa: E402
from impactmodel.scoring.synthetic import population, sample_rows, subset  # noqa: E402
from impactmodel.scoring.queries import code_columns  # noqa: E402

DESIGNS = {"1+3+5": (1, 3, 5), "1+9+20": (1, 9, 20)}


def run(n_pop: int, n_samples: int, seed: int) -> dict:
    cols = code_columns()
    rng = np.random.default_rng(seed)
    auths, meta = [], []
    for i in range(n_pop):
        m = float(rng.uniform())
        sizes = (1, int(rng.integers(12, 41)), int(rng.integers(30, 121)))
        pop = population(rng, cols, m, sizes)
        auths.append(subset(pop, np.arange(pop["role"].size), ("full", i, 0)))
        for name, design in DESIGNS.items():
            for s in range(n_samples):
                auths.append(subset(pop, sample_rows(rng, pop, design), (name, i, s)))
        meta.append(m)
    data = core.RoundInput(cols.impact, cols.feature, auths)
    t0 = time.perf_counter()
    result = core.score_round(data, seed=seed, n_replicates=20, n_weight_draws=10)
    elapsed = time.perf_counter() - t0
    by = result.by_key()
    full = np.array([by[("full", i, 0)].confidence for i in range(n_pop)])
    out = {"elapsed": elapsed, "authorities": len(auths), "full": full}
    for name in DESIGNS:
        est = np.array([[by[(name, i, s)].confidence for s in range(n_samples)] for i in range(n_pop)])
        lo = np.array([[by[(name, i, s)].ci_low for s in range(n_samples)] for i in range(n_pop)])
        hi = np.array([[by[(name, i, s)].ci_high for s in range(n_samples)] for i in range(n_pop)])
        out[name] = {"est": est, "lo": lo, "hi": hi}
    a, b = (out[k] for k in DESIGNS)
    out["separate"] = float(np.mean((a["lo"] > b["hi"]) | (b["lo"] > a["hi"])))
    out["difference"] = float(np.mean(a["est"] - b["est"]))
    return out


def report(out: dict) -> None:
    full = out["full"]
    print(f"{len(full)} staff populations, {out['authorities']} interview sets scored in "
          f"{out['elapsed']:.1f} s")
    print(f"full-staff values: mean {full.mean():.3f}, sd {full.std(ddof=1):.3f}, "
          f"range {full.min():.3f} to {full.max():.3f}")
    print()
    print(f"{'design':<8} {'bias':>8} {'|bias| max of fifths':>21} {'coverage':>9} {'median width':>13} "
          f"{'corr with full':>15} {'sd of estimate':>15}")
    for name in DESIGNS:
        d = out[name]
        err = d["est"] - full[:, None]
        cover = (d["lo"] <= full[:, None]) & (full[:, None] <= d["hi"])
        width = d["hi"] - d["lo"]
        # Bias in fifths of the maturity range: a method can be unbiased on average and
        # biased at the ends.
        order = np.argsort(full)
        fifths = [err[idx].mean() for idx in np.array_split(order, 5)]
        corr = np.corrcoef(d["est"].ravel(), np.repeat(full, d["est"].shape[1]))[0, 1]
        print(f"{name:<8} {err.mean():>+8.4f} {max(abs(f) for f in fifths):>21.4f} {cover.mean():>9.3f} "
              f"{np.median(width):>13.3f} {corr:>15.3f} {err.std(ddof=1):>15.3f}")
    print()
    print(f"mean difference 1+3+5 minus 1+9+20: {out['difference']:+.4f}")
    print(f"same-staff pairs with separate intervals: {out['separate']:.3%}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--populations", type=int, default=300)
    ap.add_argument("--samples", type=int, default=6, help="interview sets per design per population")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    report(run(args.populations, args.samples, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
