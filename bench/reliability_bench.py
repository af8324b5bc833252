"""Benchmark the reliability report: the vectorised bootstrap against the one it replaced.

Run on demand from the repository root:

    python bench/reliability_bench.py [--resamples 1000 --per-code 400]

For a round of 15 and of 150 authorities (a 20% double-coding sample of about 40
respondents per authority, 1-4 open answers each, every code of the codebook), it
times the report as the page computes it, old (one statistic call per resample,
kept in tests/coding/reference_reliability.py) and new, in the same run, and prints
the speed ratio and the largest difference between their interval limits. Each coding
covers a span of 20-80 characters of a 200-character answer, so the new time includes
the figures by span overlap, which the old report did not compute.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from impactmodel import codebook  # noqa: E402
from impactmodel.coding import queries, reliability  # noqa: E402
from tests.coding import reference_reliability  # noqa: E402

RESPONDENTS_PER_AUTHORITY = 40
SAMPLE = 0.2


def double_coded(n_authorities: int, codes: list[str], seed: int = 16) -> queries.DoubleCoded:
    """A round's finished double coding: codes of uneven prevalence, a second coder
    who disagrees on about 1 decision in 25, different coders on different answers."""
    rng = np.random.default_rng(seed)
    prevalence = rng.beta(0.6, 12, size=len(codes))
    slots = ["first", "second"]
    data = queries.DoubleCoded(slots=slots, pairs={s: {} for s in slots}, coders={s: {} for s in slots},
                               spans={s: {} for s in slots})
    unit = 0
    n_people = int(n_authorities * RESPONDENTS_PER_AUTHORITY * SAMPLE)
    for person in range(n_people):
        for _ in range(rng.integers(1, 5)):
            unit += 1
            data.units.append(unit)
            data.respondents[unit] = person
            data.lengths[unit] = 200
            truth = rng.random(len(codes)) < prevalence
            for slot in slots:
                chosen = truth ^ (rng.random(len(codes)) < 0.04 * prevalence.clip(0.05))
                data.pairs[slot][unit] = {(c, "positive") for c, on in zip(codes, chosen) if on}
                # Each coding covers 20-80 characters somewhere in the answer.
                data.spans[slot][unit] = {}
                for c, on in zip(codes, chosen):
                    if on:
                        start = int(rng.integers(0, 120))
                        data.spans[slot][unit][c] = [(start, start + int(rng.integers(20, 81)))]
                data.coders[slot][unit] = f"{slot} {rng.integers(3)}"
    return data


def limits(report):
    rows = [report.overall] + report.per_code
    for r in rows:
        for name in ("percent_agreement", "cohen_kappa", "krippendorff_alpha"):
            i = getattr(r, name)
            yield i.low
            yield i.high


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--per-code", type=int, default=400)
    parser.add_argument("--new-only", action="store_true", help="Time only the vectorised report.")
    args = parser.parse_args()
    codes = list(codebook.load().codes)
    options = {"n_resamples": args.resamples, "per_code_resamples": args.per_code, "seed": 20081}
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs; "
          f"{len(codes)} codes, {args.resamples} resamples pooled, {args.per_code} per code")
    print(f"{'authorities':>11} {'answers':>8} {'respondents':>11} {'old s':>8} {'new s':>7} {'ratio':>7} "
          f"{'max |diff|':>10}")
    for n in (15, 150):
        data = double_coded(n, codes)
        new_s, new = timed(lambda: reliability.reliability_report(data, codes, **options))
        if args.new_only:
            print(f"{n:>11} {len(data.units):>8} {len(set(data.respondents.values())):>11} {'':>8} {new_s:>7.2f}")
            continue
        old_s, old = timed(lambda: reference_reliability.reliability_report(data, codes, **options))
        diff = max((abs(a - b) for a, b in zip(limits(old), limits(new))
                    if not (math.isnan(a) or math.isnan(b))), default=0.0)
        same_nan = all(math.isnan(a) == math.isnan(b) for a, b in zip(limits(old), limits(new)))
        print(f"{n:>11} {len(data.units):>8} {len(set(data.respondents.values())):>11} {old_s:>8.2f} "
              f"{new_s:>7.2f} {old_s / new_s:>6.1f}x {diff:>10.2e}{'' if same_nan else '  (undefined limits differ)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
