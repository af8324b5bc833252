"""``impactmodel score``: compute, store and print a round's confidence scores."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from impactmodel.consortium.cli import round_named
from impactmodel.db import db
from impactmodel.scoring import core, present, services


@click.command("score")
@click.option("--round", "round_name", required=True, help="Round name.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as a JSON array, one object per authority.")
@click.option("--seed", default=None, type=click.IntRange(0, 2**31 - 1),
              help="Seed of the rank intervals [default: the stored results' seed, else 0]: "
                   "the same data and seed give the same numbers.")
@click.option("--replicates", default=core.DEFAULT_REPLICATES, show_default=True,
              type=click.IntRange(10, 100_000), help="Draws for the rank intervals.")
@click.option("--publish", is_flag=True,
              help="Freeze the round's stored scores (with the data's hash, method, codebook, weights and seed).")
@click.option("--reproduce", is_flag=True,
              help="Recompute a published round from today's data and say whether its numbers come out the same.")
@with_appcontext
def score(round_name, as_json, seed, replicates, publish, reproduce):
    """Compute and store the round's confidence scores (replacing earlier ones) and print them.

    A published round is not recomputed: its frozen scores are printed.
    """
    rnd = round_named(db.session, round_name)
    if reproduce:
        _reproduce(rnd)
        return
    if publish:
        try:
            pub = services.publish(db.session, "cli", rnd)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Published {rnd.name}: data hash {pub.data_hash}, method {pub.method_version}, "
                   f"codebook version {pub.codebook_version}, seed {pub.seed}.")
        return
    if services.publication(db.session, rnd) is not None:
        click.echo(f"{rnd.name} is published: printing its frozen scores.", err=True)
        rows = services.stored_results(db.session, rnd).scores
    else:
        rows = services.compute_scores(db.session, "cli", rnd, seed=seed, n_replicates=replicates)
    if as_json:
        click.echo(json.dumps([present.score_json(r, None) for r in rows], indent=2))
        return
    stored = services.stored_results(db.session, rnd, scores=False).scoring
    click.echo(f"Confidence scores for {rnd.name} (method {stored.method_version}, seed {stored.seed}; "
               "interviewed: DCS · managers · practitioners)")
    click.echo(f"{'rank':>4}  {'authority':<32} {'confidence':>10}  {'95% interval':<13} {'rank range':<10} interviewed")
    for r in rows:
        n = present.n_text(present.group_sizes(r))
        if r.confidence is None:
            click.echo(f"{'–':>4}  {r.authority.name[:32]:<32} {'–':>10}  {'':<13} {'':<10} {n}  "
                       f"({r.reason or 'no staff interviewed'})")
            continue
        click.echo(f"{present.rank_text(r):>4}  {r.authority.name[:32]:<32} {r.confidence:>10.3f}  "
                   f"{r.ci_low:.3f}-{r.ci_high:.3f}   {r.rank_low}-{r.rank_high:<8} {n}")


def _reproduce(rnd) -> None:
    try:
        result = services.reproduce(db.session, rnd)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Data {'unchanged' if result.same_data else 'CHANGED'} since publication; "
               f"codebook structure {'unchanged' if result.same_codebook else 'CHANGED'}; "
               f"method {'unchanged' if result.same_method else 'CHANGED'}.")
    for line in result.differences:
        click.echo(f"  {line}")
    if result.reproduced:
        click.echo("Every published number is reproduced exactly.")
    else:
        raise click.ClickException("The published numbers are not reproduced.")
