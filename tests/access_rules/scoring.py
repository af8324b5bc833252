from impactmodel.scoring import services
from impactmodel.scoring.models import ScoringRun
from tests.access_rules import ADMIN, ANALYST, RESEARCHER, SIGNED_IN, STAFF, Page, Write


def pages(world):
    r, a, other = world.round, world.authority, world.other
    # Downloads need stored results to answer 200 rather than 404.
    services.compute_scores(world.session, "test", r, n_replicates=20)
    run = ScoringRun(round_id=r.id, status="done", progress=100, message="Done")
    world.session.add(run)
    world.session.commit()
    exporters = frozenset({ADMIN, ANALYST, RESEARCHER})
    return [
        Page("scoring.index", "/scores", SIGNED_IN),
        Page("scoring.continuum", f"/rounds/{r.id}/scores", SIGNED_IN),
        # Everyone may open a profile; who sees names and counts is decided inside (present.py).
        Page("scoring.profile", f"/rounds/{r.id}/scores/authorities/{other.public_id}", SIGNED_IN),
        Page("scoring.report", f"/rounds/{r.id}/report", SIGNED_IN),
        Page("scoring.scores_json", f"/rounds/{r.id}/scores.json", SIGNED_IN),
        Page("scoring.download_table", f"/rounds/{r.id}/scores/tables/table2.csv", exporters),
        Page("scoring.response_rates", f"/rounds/{r.id}/response-rates", SIGNED_IN),
        Page("scoring.download_profile_table",
             f"/rounds/{r.id}/scores/authorities/{a.public_id}/tables/positive.xlsx", SIGNED_IN),
        Page("scoring.compute", f"/rounds/{r.id}/scores/compute", STAFF, "POST", {"seed": "1"}),
        Page("scoring.run_status", f"/scoring/runs/{run.id}", STAFF),
        Page("scoring.run_status_json", f"/scoring/runs/{run.id}.json", STAFF),
        Page("scoring.placements_page", f"/rounds/{r.id}/placements", STAFF),
        Page("scoring.publish", f"/rounds/{r.id}/scores/publish", frozenset({ADMIN}), "POST", {}),
    ]


def writes(world):
    # Scores are recomputed from every authority's data; the computation changes none of it.
    r, other = world.round, world.other
    return [Write("scoring.compute", f"/rounds/{r.id}/scores/compute",
                  {"seed": "1", "authority_id": other.id}),
            # Placements and staff in post are written only for authorities the user may see.
            Write("scoring.placements_page", f"/rounds/{r.id}/placements",
                  {"authority": other.id, "stage": "early", "selection": "nominated",
                   "managers_in_post": "7", "practitioners_in_post": "9"}),
            Write("scoring.publish", f"/rounds/{r.id}/scores/publish")]
