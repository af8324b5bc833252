"""``impactmodel score``: compute, store and print a round's confidence scores."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from impactmodel.db import db
from impactmodel.scoring import core, present, services


@click.command("score")
@click.option("--round", "round_name", required=True, help="Round name.")
@click.option("--json", "as_json", is_flag=True, help="Print the CONTRACTS.md §4 JSON array.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**31 - 1),
              help="Bootstrap seed: the same data and seed give the same numbers.")
@click.option("--replicates", default=core.DEFAULT_REPLICATES, show_default=True,
              type=click.IntRange(10, 100_000), help="Bootstrap replicates per authority.")
@with_appcontext
def score(round_name, as_json, seed, replicates):
    """Compute and store the round's confidence scores (replacing earlier ones) and print them."""
    try:
        rnd = services.find_round(db.session, round_name)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = services.compute_scores(db.session, "cli", rnd, seed=seed, n_replicates=replicates)
    scored = [r for r in rows if r.rank is not None]
    unscored = [r for r in rows if r.rank is None]
    if as_json:
        click.echo(json.dumps([present.score_json(r, None) for r in scored], indent=2))
    else:
        click.echo(f"Confidence scores for {rnd.name} ({len(scored)} authorities, seed {seed}, "
                   f"{replicates} bootstrap replicates)")
        click.echo(f"{'rank':>4}  {'authority':<32} {'confidence':>10}  {'95% interval':<15} {'rank range':<10} flags")
        for r in scored:
            flags = ", ".join(f"missing {g}" for g in r.flags.get("missing_groups", []))
            click.echo(f"{r.rank:>4}  {r.authority.name[:32]:<32} {r.confidence:>10.3f}  "
                       f"{r.ci_low:.3f}-{r.ci_high:.3f}     {r.rank_low}-{r.rank_high:<7} {flags}")
    for r in unscored:
        click.echo(f"{r.authority.name}: no staff interviewed, no score.", err=True)
