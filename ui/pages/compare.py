"""Compare: service ratios before and after a split, for the whole area and per community."""

from __future__ import annotations

import hashlib

import altair as alt
import geopandas as gpd
import pandas as pd
import streamlit as st

from gis.errors import GridplanError
from planning.compare import (
    WALK_COLUMNS,
    communities_after_split,
    compare_plans,
    mean_distance_to_centres,
    ratios,
)
from ui import cache, project, session
from ui.i18n import gettext as _
from ui.widgets import column_label, show_error, show_table, wkey

loaded = project.loaded()
rules = project.rules()
lang = session.language()
token = project.token()
st.title(_("Compare"))
st.caption(
    _("Service ratios before and after: per actual worker where the staff numbers are known.")
)

# -- which plan is "after" --------------------------------------------------------------------------
saved = project.proposals()
candidates: dict[str, tuple[str, gpd.GeoDataFrame, pd.DataFrame]] = {}
for prop in sorted(saved, key=lambda p: project.status_of(p.proposal_id) != "accepted"):
    status = project.status_of(prop.proposal_id)
    label = _("{proposal} ({status})").format(proposal=prop.proposal_id, status=_(status))
    candidates[label] = (prop.community_id, prop.parts, prop.lineage)
request = session.split_request()
if request is not None:
    try:
        result, _dropped, _error = cache.run_split(
            token,
            str(request["community_id"]),
            rules,
            request["parts"],
            tuple(request["follow"]),
            lang,
            _loaded=loaded,
        )
    except GridplanError:
        result = None
    if result is not None:
        best = result.proposals()
        label = _("best alternative of the last split (not saved)")
        candidates[label] = (result.community_id, best[best["rank"] == 1], result.lineage(1))
if not candidates:
    st.info(_("Nothing to compare yet: run a split (and save or accept a proposal) first."))
    st.stop()
choice = st.selectbox(_("Plan after"), list(candidates), key=wkey("w_compare_plan"))
parent_id, parts, lineage = candidates[choice]

# -- before and after tables ---------------------------------------------------------------------
before = pd.DataFrame(loaded.communities.drop(columns="geometry"))
before["community_id"] = before["community_id"].astype(str)
after = communities_after_split(
    before, pd.DataFrame(parts.drop(columns="geometry")), parent_id=parent_id
)
after["community_id"] = after["community_id"].astype(str)
if "parent_community_id" not in after:
    after["parent_community_id"] = after["community_id"].str.split("-").str[0]

grid_result, _scope = project.grids()
if grid_result is not None and len(grid_result.grids):
    grids = grid_result.grids
    points = gpd.GeoDataFrame(geometry=grids.geometry.representative_point(), crs=grids.crs)
    joined = gpd.sjoin(
        points, parts[["part", "geometry"]].to_crs(grids.crs), predicate="within", how="left"
    )
    joined = joined[~joined.index.duplicated()]
    new_ids = joined["part"].map(lambda p: None if pd.isna(p) else f"{parent_id}-{int(p)}")
    grid_community = new_ids.fillna(grids["community_id"].astype(str))
    # household grids and dedicated grids (专属网格, no households) apart, as on the Grids page
    dedicated = (
        grids["kind"].astype(str).ne("residential")  # dedicated, campus, hospital, park…
        if "kind" in grids
        else pd.Series(False, index=grids.index)
    )
    before_ids, after_ids = grids["community_id"].astype(str), grid_community
    for table, ids in ((before, before_ids), (after, after_ids)):
        gridded = table["community_id"].isin(set(ids))  # a community not gridded stays blank
        for column, these in (("grids", ~dedicated), ("dedicated_grids", dedicated)):
            counts = table["community_id"].map(ids[these].value_counts())
            table[column] = counts.where(~gridded, counts.fillna(0))
else:
    st.caption(_("Generate grids on the Grids page to compare households per grid."))

centres = loaded.project.service_centres
if centres is not None and len(centres):
    buildings = loaded.buildings.copy()
    buildings["community_id"] = buildings["community_id"].astype(str)
    before["mean_distance_m"] = before["community_id"].map(
        mean_distance_to_centres(buildings, centres)
    )
    moved = dict(
        zip(lineage["building_id"].astype(str), lineage["to_community_id"].astype(str), strict=True)
    )
    buildings["community_id"] = (
        buildings["building_id"].astype(str).map(moved).fillna(buildings["community_id"])
    )
    after["mean_distance_m"] = after["community_id"].map(
        mean_distance_to_centres(buildings, centres)
    )
else:
    st.caption(
        _(
            "The project has no service-centre layer, so distances to service centres cannot be measured."
        )
    )

roads = loaded.project.roads
if roads is not None and len(roads):
    parts_key = hashlib.sha1(
        b"".join(parts.geometry.to_wkb()) + str(sorted(lineage.itertuples(index=False))).encode()
    ).hexdigest()
    try:
        with st.spinner(_("Measuring walks along the roads…")):
            walk_before = cache.run_access(token, rules, _loaded=loaded)
            walk_after = cache.run_access_after(
                token,
                parts_key,
                rules,
                _loaded=loaded,
                _parts=parts.assign(rank=1, parent_community_id=parent_id),
                _lineage=lineage,
            )
    except GridplanError as err:
        show_error(err)
    else:
        for table, walked in ((before, walk_before), (after, walk_after)):
            figures = walked.communities.set_index("community_id")
            for column in WALK_COLUMNS:
                table[column] = table["community_id"].map(figures[column])
        st.caption(
            _(
                "Walking figures go along the roads to each community's service centre, or to its "
                "recommended site where it has none (see the Analyses page)."
            )
        )

whole = compare_plans(before, after, rules=rules).reset_index()
whole["metric"] = whole["metric"].map(column_label)
st.subheader(_("Whole area"))
show_table(whole, key="w_compare_whole", height=38 + 35 * len(whole))

# -- per community ------------------------------------------------------------------------------
per = pd.concat(
    [
        ratios(before, rules=rules).assign(plan=_("before")),
        ratios(after, rules=rules).assign(plan=_("after")),
    ],
    ignore_index=True,
)
per.insert(0, "plan", per.pop("plan"))
st.subheader(_("Per community"))
show_table(per, key="w_compare_per")
if per["households_per_worker"].isna().all():
    st.caption(
        _(
            "No staff numbers in the community layer: ratios per worker need them (required staff are shown)."
        )
    )

# -- charts --------------------------------------------------------------------------------------
chart_data = per.assign(workers=per["staff"].fillna(per["required_staff"]))
chart_data["households_per_worker_shown"] = chart_data["households"] / chart_data["workers"].where(
    chart_data["workers"] > 0
)
left, right = st.columns(2)
with left:
    st.markdown("**" + _("Households per worker (actual staff, or required where unknown)") + "**")
    chart = (
        alt.Chart(chart_data)
        .mark_bar()
        .encode(
            x=alt.X("community_id:N", title=column_label("community_id")),
            xOffset="plan:N",
            y=alt.Y("households_per_worker_shown:Q", title=_("households per worker")),
            color=alt.Color("plan:N", title=_("plan")),
            tooltip=[
                "plan",
                "community_id",
                alt.Tooltip("households_per_worker_shown:Q", format=".1f"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"y": [rules.households_per_worker]}))
        .mark_rule(color="#c62828", strokeDash=[4, 4])
        .encode(y="y:Q")
    )
    st.altair_chart(chart + rule, width="stretch")
with right:
    st.markdown("**" + _("Required and actual staff") + "**")
    staff_long = per.melt(
        id_vars=["plan", "community_id"],
        value_vars=["required_staff", "staff"],
        var_name="kind",
        value_name="workers",
    ).dropna(subset=["workers"])
    staff_long["kind"] = staff_long["kind"].map(column_label)
    chart = (
        alt.Chart(staff_long)
        .mark_bar()
        .encode(
            x=alt.X("community_id:N", title=column_label("community_id")),
            xOffset="kind:N",
            y=alt.Y("workers:Q", title=_("workers")),
            color=alt.Color("kind:N", title=""),
            column=alt.Column("plan:N", title=None, sort=[_("before"), _("after")]),
            tooltip=["plan", "community_id", "kind", "workers"],
        )
        .resolve_scale(x="independent")
    )
    st.altair_chart(chart)
project.set_comparison(whole=whole, per_community=per)
