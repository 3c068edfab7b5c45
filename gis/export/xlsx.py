"""Excel report: plan, communities before and after, grids, members, lineage, patches, rules."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.export._common import (
    ESTIMATE_MARK,
    _cell_text,
    _display_width,
    _Estimates,
    _plans_row,
    _rules_data,
    column_label,
)
from gis.errors import GridplanError
from gis.i18n import N_, render_citation, translator
from gis.kinds import kind_labels
from gis.store.files import atomic_path

__all__ = ["communities_before_after", "to_xlsx"]


def communities_before_after(plan: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the communities before and after the plan, one row each.

    *Before* is the plan's ``communities`` layer when it has one, otherwise totals over
    ``lineage`` or ``grids``. *After* replaces every split community by its new parts
    (``lineage`` totals, with residents and staff from the rank-1 ``proposals``); both
    count the grids of each community.

    Examples
    --------
    >>> lineage = pd.DataFrame({"building_id": ["B1", "B2", "B3"], "households": [10, 20, 30],
    ...                         "from_community_id": ["C"] * 3,
    ...                         "to_community_id": ["C-1", "C-2", "C-2"]})
    >>> before, after = communities_before_after({"lineage": lineage})
    >>> before[["community_id", "households"]].to_dict("records")
    [{'community_id': 'C', 'households': 60}]
    >>> after[["community_id", "households", "n_buildings"]].to_dict("records")
    [{'community_id': 'C-1', 'households': 10, 'n_buildings': 1},
     {'community_id': 'C-2', 'households': 50, 'n_buildings': 2}]
    """
    grids = plan.get("grids")
    lineage = plan.get("lineage")
    proposals = plan.get("proposals")
    communities = plan.get("communities")
    wanted = [
        "community_id",
        "name",
        "street",
        "households",
        "residents",
        "special_service_households",
        "n_buildings",
        "staff",
        "required_staff",
        "status",
    ]
    if isinstance(communities, pd.DataFrame) and "community_id" in communities:
        before = pd.DataFrame(communities[[c for c in wanted if c in communities]]).copy()
    elif isinstance(lineage, pd.DataFrame) and len(lineage):
        before = (
            lineage.groupby("from_community_id", sort=True)
            .agg(households=("households", "sum"), n_buildings=("building_id", "size"))
            .reset_index()
            .rename(columns={"from_community_id": "community_id"})
        )
    elif isinstance(grids, pd.DataFrame) and "community_id" in grids:
        sums = [
            c
            for c in ("households", "residents", "special_service_households", "n_buildings")
            if c in grids
        ]
        before = pd.DataFrame(grids).groupby("community_id", sort=True)[sums].sum().reset_index()
    else:
        before = pd.DataFrame(columns=["community_id"])
    before["community_id"] = before["community_id"].astype(str)
    after = before.copy()
    if isinstance(lineage, pd.DataFrame) and len(lineage):
        parts = (
            lineage.groupby(["from_community_id", "to_community_id"], sort=True)
            .agg(households=("households", "sum"), n_buildings=("building_id", "size"))
            .reset_index()
        )
        parts["from_community_id"] = parts["from_community_id"].astype(str)
        if isinstance(proposals, pd.DataFrame) and len(proposals) and "rank" in proposals:
            best = pd.DataFrame(proposals[proposals["rank"] == proposals["rank"].min()]).copy()
            best["to_community_id"] = (
                best["parent_community_id"].astype(str) + "-" + best["part"].astype(str)
            )
            extra = [
                c
                for c in ("residents", "special_service_households", "required_staff")
                if c in best
            ]
            parts = parts.merge(best[["to_community_id", *extra]], on="to_community_id", how="left")
        parts = parts.rename(
            columns={"to_community_id": "community_id", "from_community_id": "parent_community_id"}
        )
        kept = after[~after["community_id"].isin(set(parts["parent_community_id"]))]
        after = pd.concat([kept, parts], ignore_index=True)
        if "name" in after and "parent_community_id" in after:
            names = dict(
                zip(before["community_id"], before.get("name", before["community_id"]), strict=True)
            )
            missing = after["name"].isna()
            after.loc[missing, "name"] = [
                f"{names.get(str(p), p)} ({c.rsplit('-', 1)[-1]})"
                for p, c in zip(
                    after.loc[missing, "parent_community_id"],
                    after.loc[missing, "community_id"],
                    strict=True,
                )
            ]
    if isinstance(grids, pd.DataFrame) and "community_id" in grids and len(grids):
        counts = grids["community_id"].astype(str).value_counts()
        before["n_grids"] = before["community_id"].map(counts).fillna(0).astype(int)
        if not (isinstance(lineage, pd.DataFrame) and len(lineage)):
            after["n_grids"] = after["community_id"].map(counts).fillna(0).astype(int)
    return before.reset_index(drop=True), after.reset_index(drop=True)


_MARKED = frozenset({"households", "households_estimated"})
"""Columns set in italics on a row whose households are (partly) estimated."""


def _estimated_rows(frame: pd.DataFrame, estimates: _Estimates, mark: str) -> list[bool]:
    """Whether each row's households are (partly) estimated: to set them in italics."""
    if not estimates:
        return [False] * len(frame)
    if "households_estimated" in frame:
        return [bool(v) for v in pd.to_numeric(frame["households_estimated"]).fillna(0) > 0]
    if "households_basis" in frame:
        return [v == mark for v in frame["households_basis"]]
    return [False] * len(frame)


def _with_estimates(
    table: pd.DataFrame, estimates: _Estimates, plan: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Add "of which estimated" to a community table (before: by community; after: the
    parts' buildings in ``lineage``)."""
    if "households" not in table:
        return table
    out = table.copy()
    ids = out["community_id"].astype(str)
    values = ids.map(estimates.per_community)
    lineage = plan.get("lineage")
    if isinstance(lineage, pd.DataFrame) and {"building_id", "to_community_id"} <= set(lineage):
        flagged = lineage["building_id"].astype(str).isin(estimates.buildings)
        hh = pd.to_numeric(lineage["households"], errors="coerce").fillna(0)
        parts = hh[flagged].groupby(lineage.loc[flagged, "to_community_id"].astype(str)).sum()
        values = values.fillna(ids.map(parts))
    if not estimates.per_community and values.isna().all():
        return table
    at = list(out.columns).index("households") + 1
    out.insert(at, "households_estimated", values.fillna(0).astype(int).to_numpy())
    return out


def _sheet_name(text: str, taken: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31] or "sheet"
    name, n = clean, 1
    while name.lower() in taken:
        n += 1
        name = f"{clean[:28]} {n}"
    taken.add(name.lower())
    return name


_PAPER_CODES = {"a4": 9, "a3": 8}
"""Excel's paper codes."""
_PORTRAIT_WIDTH = {"a4": 95, "a3": 135}
"""Column widths (in characters) that fit across a portrait page of that paper; wider
sheets are printed landscape (A4 portrait holds about 95 characters at 11 pt)."""


def _print_setup(sheet: Any, width: float, *, paper: str) -> None:
    """Make a sheet print as planners file it: paper, landscape when wide, header on every
    page, all columns on the page's width, page numbers in the footer."""
    sheet.set_paper(_PAPER_CODES[paper])
    if width > _PORTRAIT_WIDTH[paper]:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.repeat_rows(0)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.set_footer("&C&P / &N")


def to_xlsx(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    lang: str | None = "zh_CN",
    rules: Any = None,
    paper: str = "a4",
    context: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the Excel report: one formatted sheet per table.

    Sheets: the plan (id, version, status, author, totals), communities before and
    after, grids (with their area), grid members, lineage, patches, proposals, walking
    access per community and per building (``gridplan access --out``) and the rules with
    their sources — those the plan has. Headers are bold and frozen, with a
    filter; columns are as wide as their content (CJK characters count double). Every
    sheet is ready to print on ``paper`` (``a4`` or ``a3``): landscape when its columns
    are wider than a portrait page, the header row repeated on every page, all columns
    fitted to the page width, page numbers in the footer. Codes are text (a 15-digit grid
    code stays whole in Excel and WPS).

    Households estimated from footprint × floors (not counted) are marked as in the app
    and ``check --json``: an "of which estimated" column on the grids and communities, a
    counted/estimated column on the members, those figures in italics, and a note on the
    Plan sheet with the share and the method.

    Parameters
    ----------
    plan
        The plan's layers (and its ``plans`` row).
    out
        The ``.xlsx`` to write.
    lang
        Language of the sheet names and headers.
    rules
        The rule set, when the plan does not carry its own (``plans.rules``).
    context
        The project's layers when the plan does not hold them: ``buildings`` (with
        ``households_source``) says which households are estimated.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_xlsx({"grids": grids}, folder / "plan.xlsx", lang="en")
    >>> list(pd.read_excel(out, sheet_name=None, engine="calamine"))
    ['Plan', 'Grids']
    """
    import xlsxwriter

    paper = paper.lower()
    if paper not in _PAPER_CODES:
        msg = N_("{paper!r} is not a paper size gridplan prints on. Use a4 or a3.")
        raise GridplanError(msg, paper=paper)

    tr = translator(lang).gettext
    out = Path(out)
    sheets: list[tuple[str, pd.DataFrame]] = []
    row = _plans_row(plan)
    grids = plan.get("grids")
    data = _rules_data(plan, rules)
    estimates = _Estimates({**dict(context or {}), **plan}, data)
    mark = tr(ESTIMATE_MARK)
    summary_rows = [
        (column_label(k, lang), tr(str(row[k])) if k == "status" else _cell_text(row[k]))
        for k in ("plan_id", "version", "status", "author", "created_at", "note")
        if row.get(k) is not None
    ]
    if isinstance(grids, pd.DataFrame) and len(grids):
        hh = (
            pd.to_numeric(grids["households"], errors="coerce")
            if "households" in grids
            else pd.Series(dtype=float)
        )
        summary_rows += [
            (tr(N_("grids")), str(len(grids))),
            (tr("households"), str(int(hh.sum())) if len(hh) else ""),
            (tr(N_("smallest grid (households)")), str(int(hh.min())) if len(hh) else ""),
            (tr(N_("largest grid (households)")), str(int(hh.max())) if len(hh) else ""),
        ]
        if estimates:
            estimated, total, _n = estimates.in_grids(grids)
            summary_rows += [
                (column_label("households_estimated", lang), str(estimated)),
                (mark, estimates.note(estimated, total, lang=lang) or "—"),
            ]
    sheets.append(
        (
            tr(N_("Plan")),
            pd.DataFrame(summary_rows, columns=[tr(N_("item")), column_label("value", lang)]),
        )
    )
    before, after = communities_before_after(plan)
    if estimates and len(before):
        before = _with_estimates(before, estimates, plan)
        after = _with_estimates(after, estimates, plan)
    if len(before):
        sheets.append((tr(N_("Communities before")), before))
        sheets.append((tr(N_("Communities after")), after))
    if isinstance(grids, pd.DataFrame) and len(grids):
        table = pd.DataFrame(
            grids.drop(columns=grids.geometry.name)
            if isinstance(grids, gpd.GeoDataFrame)
            else grids
        ).copy()
        table = kind_labels(table, lang)
        if isinstance(grids, gpd.GeoDataFrame) and grids.crs is not None:
            from gis.crs import to_metric

            table["area_m2"] = to_metric(grids).area.round(0).to_numpy()
        if estimates and "households" in table:
            at = list(table.columns).index("households") + 1
            codes = table["grid_code"].astype(str)
            table.insert(at, "households_estimated", [estimates.per_grid.get(c, 0) for c in codes])
        sheets.append((tr(N_("Grids")), table))
    for key, title in (
        ("grid_members", N_("Grid members")),
        ("lineage", N_("Lineage")),
        ("patches", N_("Worker patches")),
        ("grid_crosswalk", N_("Grid code crosswalk")),
        ("proposals", N_("Split proposals")),
        ("access", N_("Walking access")),
        ("access_buildings", N_("Walk of each building")),
    ):
        frame = plan.get(key)
        if isinstance(frame, pd.DataFrame) and len(frame):
            if isinstance(frame, gpd.GeoDataFrame):
                frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            if estimates and key == "grid_members" and "building_id" in frame:
                frame = frame.drop(columns=["households_source"], errors="ignore").copy()
                frame["households_basis"] = [
                    mark if estimates.is_estimated(b) else tr(N_("counted"))
                    for b in frame["building_id"]
                ]
            sheets.append((tr(title), frame))
    sources = data.get("sources") or [
        {"rule": k, "value": str(v), "source": ""} for k, v in (data.get("values") or {}).items()
    ]
    if sources:
        rules_sheet = pd.DataFrame(sources, columns=["rule", "value", "source"])
        # kept in English with the plan; shown in the reader's language
        rules_sheet["source"] = [render_citation(str(s), lang) for s in rules_sheet["source"]]
        sheets.append((tr("Rules and their sources"), rules_sheet))
    with atomic_path(out) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_urls": False, "strings_to_numbers": False}
        )
        header = book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        integer = book.add_format({"num_format": "0"})
        decimal = book.add_format({"num_format": "0.0##"})
        guessed = book.add_format({"num_format": "0", "italic": True, "font_color": "#9c5700"})
        guessed_text = book.add_format({"italic": True, "font_color": "#9c5700"})
        taken: set[str] = set()
        for title, frame in sheets:
            sheet = book.add_worksheet(_sheet_name(title, taken))
            columns = [str(c) for c in frame.columns]
            labels = [column_label(c, lang) for c in columns]
            widths = [_display_width(label) for label in labels]
            for j, label in enumerate(labels):
                sheet.write_string(0, j, label, header)
            marked = _estimated_rows(frame, estimates, mark)
            for i, values in enumerate(frame.itertuples(index=False), start=1):
                guess = marked[i - 1]
                for j, value in enumerate(values):
                    if (
                        value is None
                        or value is pd.NA
                        or (isinstance(value, float) and math.isnan(value))
                    ):
                        continue
                    if isinstance(value, bool | np.bool_):
                        sheet.write_boolean(i, j, bool(value))
                        text = str(bool(value))
                    elif isinstance(value, int | np.integer):
                        fmt = guessed if guess and columns[j] in _MARKED else integer
                        sheet.write_number(i, j, int(value), fmt)
                        text = str(value)
                    elif isinstance(value, float | np.floating):
                        sheet.write_number(i, j, float(value), decimal)
                        text = f"{value:.3g}"
                    else:
                        text = _cell_text(value)
                        if guess and columns[j] == "households_basis":
                            sheet.write_string(i, j, text, guessed_text)
                        else:
                            sheet.write_string(i, j, text)
                    if i <= 2000:
                        widths[j] = max(widths[j], _display_width(text))
            shown = [min(max(width + 2, 8), 60) for width in widths]
            for j, width in enumerate(shown):
                sheet.set_column(j, j, width)
            sheet.freeze_panes(1, 0)
            if len(frame):
                sheet.autofilter(0, 0, len(frame), max(len(columns) - 1, 0))
            _print_setup(sheet, sum(shown), paper=paper)
        book.close()
    return out
