"""Cost overrun: contracts raised above their award's value, or amended again and again."""

from __future__ import annotations

from typing import Any

from portal.domain.redflags.base import Computed, Indicator, combine_outcomes, fired_frame, money, outcome_series
from portal.domain.redflags.data import FlagData
from portal.vocabulary import FlagOutcome

CONTRACT_COUNTED = ("active", "terminated")


def compute(data: FlagData, settings: dict[str, Any]) -> Computed:
    p = data.processes
    contracts = data.contracts[
        (data.contracts["status"].isna() | data.contracts["status"].isin(CONTRACT_COUNTED))
        & data.contracts["units"].notna()
        & data.contracts["award_id"].notna()
    ]
    awards = data.awards[data.awards["units"].notna() & (data.awards["units"] > 0)]
    pairs = contracts.merge(
        awards[["process_id", "award_id", "units", "currency"]].rename(columns={"units": "award_units"}),
        on=["process_id", "award_id", "currency"],
    )
    pairs["increase"] = (pairs["units"] - pairs["award_units"]) / pairs["award_units"]
    raised = pairs[pairs["increase"] > settings["increase"]]
    amended = data.amendments.groupby("process_id").size()
    many = amended[amended >= settings["amendments"]]
    evidence: dict[int, dict[str, Any]] = {}
    for process_id, contract_id, award_id, units, award_units, currency, increase in zip(
        raised["process_id"],
        raised["contract_id"],
        raised["award_id"],
        raised["units"],
        raised["award_units"],
        raised["currency"],
        raised["increase"],
        strict=True,
    ):
        evidence.setdefault(int(process_id), {}).setdefault("contracts", []).append(
            {
                "contract": contract_id,
                "award": award_id,
                "contract_value": money(units, currency),
                "award_value": money(award_units, currency),
                "increase": round(float(increase), 4),
                "threshold": settings["increase"],
            }
        )
    for process_id, count in many.items():
        if process_id in p.index:
            evidence.setdefault(int(process_id), {})["amendments"] = {
                "count": int(count),
                "threshold": settings["amendments"],
            }
    ids = sorted(i for i in evidence if i in p.index)
    judged = set(pairs["process_id"]) | set(amended.index)
    outcomes = combine_outcomes(outcome_series(p.index.difference(list(judged)), FlagOutcome.NOT_ENOUGH_DATA))
    return Computed(fired=fired_frame(ids, [evidence[i] for i in ids]), outcomes=outcomes)


INDICATOR = Indicator(
    code="COST_OVERRUN",
    title="Cost overrun",
    definition="A contract's value is above its award's value (same currency) by more than the threshold "
    "(20%), or the process has three or more amendments. The value compared is the contract's as last "
    "published, so an increase made by amendments shows as a contract above its award.",
    why="A contract won at one price and raised afterwards can hide a bid priced low to win.",
    fields=("contracts/value", "contracts/awardID", "awards/value", "contracts/amendments", "awards/amendments"),
    compute=compute,
    settings_help={
        "increase": "the increase over the award's value above which the flag fires, as a decimal",
        "amendments": "the number of amendments at or above which the flag fires",
    },
)
