"""Awards as the buyer- and supplier-level indicators read them: one row per (counted award, supplier), with
the buyer's and the supplier's entities and the process's method and category."""

from __future__ import annotations

import pandas as pd

from portal.domain.redflags.data import FlagData
from portal.domain.redflags.r038 import buyer_key
from portal.domain.redflags.r048 import supplier_key


def counted_awards(data: FlagData) -> pd.DataFrame:
    awards = data.awards[data.awards["status"].isna() | (data.awards["status"] == "active")]
    rows = awards.merge(data.suppliers[["award_row", "party_id", "name", "supplier"]], on="award_row")
    rows["supplier_key"] = supplier_key(rows)
    p = data.processes
    rows = rows[rows["process_id"].isin(p.index)]
    rows["buyer_key"] = buyer_key(p).reindex(rows["process_id"]).to_numpy()
    rows["buyer_name"] = p["buyer"].reindex(rows["process_id"]).map(data.names).to_numpy()
    rows["method"] = p["method"].reindex(rows["process_id"]).to_numpy()
    rows["category"] = p["category"].reindex(rows["process_id"]).fillna("").to_numpy()
    rows["ocid"] = p["ocid"].reindex(rows["process_id"]).to_numpy()
    return rows.dropna(subset=["buyer_key"])
