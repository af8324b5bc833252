import io

from impactmodel.indicators.models import IndicatorValue
from tests.access_rules import ADMIN, ANALYST, RESEARCHER, SIGNED_IN, Page, Write


def pages(world):
    r, other = world.round, world.other
    world.session.add(IndicatorValue(round_id=r.id, authority_id=other.id, indicator="looked_after",
                                     period="2007-08", value=55.0, numerator=110, denominator=20000,
                                     rate_per_10000=55.0))
    world.session.commit()
    exporters = frozenset({ADMIN, ANALYST, RESEARCHER})
    return [
        # Everyone signed in sees the consortium's figures; who sees names and counts is decided in present.py.
        Page("indicators.consortium", f"/rounds/{r.id}/indicators", SIGNED_IN),
        Page("indicators.authority", f"/rounds/{r.id}/indicators/authorities/{other.public_id}", SIGNED_IN),
        Page("indicators.download_table", f"/rounds/{r.id}/indicators/tables/indicators.xlsx", exporters),
    ]


def writes(world):
    r, other = world.round, world.other

    def form():
        text = (f"authority,indicator,period,value\n{other.name},looked_after,2007-08,99\n"
                "Hostile Borough,cp_plans,2007-08,12\n")
        return {"kind": "indicators", "round_choice": r.name, "new_round": "", "action": "import",
                "file": (io.BytesIO(text.encode()), "indicators.csv")}
    return [Write("interchange.upload", "/import", form)]
