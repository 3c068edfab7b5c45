"""Hand-drawn splits, snapped to the split engine's atoms so the parts tile the community.

A planner who draws a boundary by hand rarely follows the building plots exactly, so a
drawn polygon is *snapped* to the split engine's atoms (:attr:`planning.split.SplitResult.atoms`:
whole compounds with their verges and loose buildings' plots, which tile the community):
an atom belongs to the first drawn polygon that contains its representative point, and the
atoms no polygon takes form the last part. The parts therefore tile the community exactly,
and no building is ever cut.

The result has the engine's shapes: :meth:`ManualSplit.proposals` is a proposals layer
like :meth:`planning.split.SplitResult.proposals`, and :meth:`ManualSplit.lineage` says
which building moves to which new community, like :meth:`SplitResult.lineage`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> atoms = gpd.GeoDataFrame(
...     {"households": [100, 200, 300, 400], "residents": [260.0, 520.0, 780.0, 1040.0],
...      "special": [1.0, 0.0, 2.0, 0.0], "compound": [None] * 4,
...      "buildings": [[("a", 100)], [("b", 200)], [("c", 300)], [("d", 400)]]},
...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(0, 10, 10, 20), box(10, 10, 20, 20)],
...     crs=4548)
>>> snapped = snap_to_atoms(atoms, box(-1, -1, 21, 9), crs=4548)
>>> snapped.labels.tolist()
[0, 0, 1, 1]
>>> snapped.parts[["part", "households", "required_staff"]].to_dict("list")
{'part': [1, 2], 'households': [300, 700], 'required_staff': [2, 3]}
>>> round(snapped.max_deviation, 2)
0.4
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import STORAGE_CRS, reproject
from gis.errors import GeometryError, InfeasibleError
from gis.i18n import N_, translator
from planning.rules import RuleSet, get_preset

__all__ = [
    "PROPOSAL_COLUMNS",
    "ManualSplit",
    "from_labels",
    "labels_from_parts",
    "reassign",
    "snap_to_atoms",
]

PROPOSAL_COLUMNS = [
    "proposal_id",
    "rank",
    "part",
    "parent_community_id",
    "households",
    "residents",
    "required_staff",
    "special_service_households",
    "reasons",
    "geometry",
]
"""The columns of a proposals layer (as :meth:`planning.split.SplitResult.proposals`)."""


@dataclass(frozen=True)
class ManualSplit:
    """A hand-drawn division of one community, snapped to its atoms.

    Attributes
    ----------
    community_id
        The community divided.
    labels
        The part (0, 1, …) of each atom, aligned to the atoms.
    parts
        One row per part, in the atoms' CRS: ``part`` (1, 2, …; the last is the rest of
        the community when it is not empty), ``drawn`` (whether a drawn polygon made it),
        ``households``, ``residents``, ``special_service_households``, ``required_staff``,
        ``deviation`` (share above or below the mean households of the parts),
        ``n_atoms``, ``pieces`` (separate pieces; more than one means the part is not
        contiguous) and ``geometry``.
    """

    community_id: str
    labels: np.ndarray = field(repr=False)
    parts: gpd.GeoDataFrame = field(repr=False)
    source: str = ""
    """What a hand adjustment started from (``alternative 2``, a proposal id); empty for
    a drawn boundary."""

    @property
    def max_deviation(self) -> float:
        """The largest share by which a part's households differ from the mean."""
        return float(self.parts["deviation"].abs().max()) if len(self.parts) else 0.0

    @property
    def contiguous(self) -> bool:
        """Whether every non-empty part is in one piece."""
        pieces = self.parts.loc[self.parts["n_atoms"] > 0, "pieces"]
        return bool((pieces <= 1).all())

    def reasons(self, *, rules: RuleSet | None = None, lang: str = "en") -> tuple[str, ...]:
        """Why this division is (or is not) acceptable, in ``lang``."""
        rules = rules or get_preset()
        tr = translator(lang).gettext
        sizes = ", ".join(str(int(h)) for h in self.parts["households"])
        first = (
            tr(N_("adjusted by hand from {source}")).format(source=self.source)
            if self.source
            else tr(N_("drawn by hand"))
        )
        out = [
            first,
            tr(N_("parts of {sizes} households; the largest is {dev:.1%} from the mean")).format(
                sizes=sizes, dev=self.max_deviation
            ),
        ]
        if not self.parts["households"].between(rules.min_households, rules.split_households).all():
            out.append(
                tr(N_("some parts fall outside the normal {low}–{high} households")).format(
                    low=rules.min_households, high=rules.split_households
                )
            )
        if not self.contiguous:
            out.append(tr(N_("a part is in several pieces; draw the boundary again")))
        return tuple(out)

    def proposals(
        self, proposal_id: str, *, rules: RuleSet | None = None, lang: str = "en"
    ) -> gpd.GeoDataFrame:
        """Return the parts as a proposals layer (the columns of ``SplitResult.proposals``), EPSG:4490.

        ``rank`` is 0: a hand-drawn proposal has no rank among the engine's alternatives.
        """
        out = self.parts.copy()
        out["proposal_id"] = proposal_id
        out["rank"] = 0
        out["parent_community_id"] = self.community_id
        out["reasons"] = "; ".join(self.reasons(rules=rules, lang=lang))
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=self.parts.crs)
        return out[PROPOSAL_COLUMNS].to_crs(STORAGE_CRS)

    def lineage(self, atoms: gpd.GeoDataFrame) -> pd.DataFrame:
        """Which building goes to which new community (``atoms`` as passed to :func:`snap_to_atoms`)."""
        rows = []
        if "buildings" in atoms:
            for members, label in zip(atoms["buildings"], self.labels, strict=True):
                for building_id, households in members or []:
                    rows.append(
                        {
                            "building_id": building_id,
                            "households": int(households),
                            "from_community_id": self.community_id,
                            "to_community_id": f"{self.community_id}-{int(label) + 1}",
                        }
                    )
        return pd.DataFrame(
            rows, columns=["building_id", "households", "from_community_id", "to_community_id"]
        )


def _as_geometries(polygons: Any, crs: Any, target: Any) -> list[shapely.Geometry]:
    if isinstance(polygons, gpd.GeoDataFrame):
        polygons = polygons.geometry
    if isinstance(polygons, gpd.GeoSeries):
        series = polygons if polygons.crs is not None else polygons.set_crs(crs)
    else:
        geoms = [polygons] if isinstance(polygons, shapely.Geometry) else list(polygons)
        series = gpd.GeoSeries(geoms, crs=crs)
    if target is not None and series.crs != target:
        series = reproject(series, target)
    out = []
    for number, geom in enumerate(series.values, start=1):
        if geom is None or geom.is_empty or geom.geom_type not in {"Polygon", "MultiPolygon"}:
            msg = N_(
                "Drawing {n} is not a polygon. Draw the boundary with the polygon or rectangle tool."
            )
            raise GeometryError(msg, n=number)
        out.append(shapely.make_valid(geom) if not geom.is_valid else geom)
    return out


def snap_to_atoms(
    atoms: gpd.GeoDataFrame,
    polygons: shapely.Geometry | Sequence[shapely.Geometry] | gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    crs: Any = "EPSG:4326",
    rules: RuleSet | None = None,
    community_id: str = "community",
) -> ManualSplit:
    """Snap drawn polygons to atoms: part *i* is the atoms inside polygon *i*, the last part the rest.

    Parameters
    ----------
    atoms
        Polygons that tile the community, with ``households`` (and ``residents``,
        ``special``, ``buildings`` when known), as :attr:`SplitResult.atoms`.
    polygons
        One drawn polygon or several (a GeoSeries/GeoDataFrame carries its own CRS).
    crs
        The CRS of ``polygons`` when they are bare geometries (lon/lat by default, as
        drawn on the map).
    rules
        For the required staff of each part.
    community_id
        The community divided.

    Returns
    -------
    ManualSplit

    Raises
    ------
    GeometryError
        If a drawing is not a polygon.
    InfeasibleError
        If there are no atoms, or the polygons take every atom or none (nothing is divided).
    """
    rules = rules or get_preset()
    if atoms is None or atoms.empty:
        msg = N_("Community {community} has no blocks to divide. Run the split first.")
        raise InfeasibleError(msg, community=community_id)
    drawn = _as_geometries(polygons, crs, atoms.crs)
    if not drawn:
        msg = N_("Draw a polygon around the part of community {community} to split off.")
        raise InfeasibleError(msg, community=community_id)
    points = atoms.geometry.representative_point().values
    rest = len(drawn)
    labels = np.full(len(atoms), rest, dtype=int)
    for i, polygon in enumerate(drawn):
        shapely.prepare(polygon)
        inside = shapely.intersects(polygon, points) & (labels == rest)
        labels[inside] = i
    if (labels == rest).all():
        msg = N_(
            "The drawn boundary holds none of community {community}'s blocks, so nothing is divided. "
            "Draw it across the community."
        )
        raise InfeasibleError(msg, community=community_id)
    if len(drawn) == 1 and not (labels == rest).any():
        msg = N_(
            "The drawn boundary holds all of community {community}, so nothing is divided. "
            "Draw it across the community."
        )
        raise InfeasibleError(msg, community=community_id)
    k = rest + 1 if (labels == rest).any() else rest
    parts = _parts(atoms, labels, k, n_drawn=len(drawn), rules=rules)
    return ManualSplit(community_id=community_id, labels=labels, parts=parts)


def from_labels(
    atoms: gpd.GeoDataFrame,
    labels: Sequence[int] | np.ndarray,
    *,
    k: int | None = None,
    rules: RuleSet | None = None,
    community_id: str = "community",
    source: str = "",
) -> ManualSplit:
    """A division of the community given the part (0, 1, …) of each atom.

    An engine alternative (``Alternative.labels``) or a saved proposal
    (:func:`labels_from_parts`) opened to adjust by hand: the parts are unions of whole
    atoms, so they tile the community exactly whatever the labels.

    Parameters
    ----------
    atoms
        The split's atoms (:attr:`planning.split.SplitResult.atoms`).
    labels
        The part of each atom, aligned to ``atoms``.
    k
        How many parts (a part may be left empty by a hand edit); the labels' highest + 1
        by default.
    rules
        For the required staff of each part.
    community_id
        The community divided.
    source
        What the division started from, for its reasons (``alternative 2``).

    Raises
    ------
    InfeasibleError
        If the labels do not match the atoms.
    """
    rules = rules or get_preset()
    labels = np.asarray(labels, dtype=int)
    if atoms is None or len(labels) != len(atoms) or (labels < 0).any():
        msg = N_(
            "The parts given do not match community {community}'s blocks. Run the split again "
            "and start from one of its alternatives."
        )
        raise InfeasibleError(msg, community=community_id)
    k = max(int(labels.max(initial=0)) + 1, int(k or 0))
    parts = _parts(atoms, labels, k, n_drawn=0, rules=rules)
    return ManualSplit(community_id=community_id, labels=labels, parts=parts, source=source)


def labels_from_parts(atoms: gpd.GeoDataFrame, parts: gpd.GeoDataFrame) -> np.ndarray:
    """The part (0, 1, … in the order of ``parts``' ``part`` column) of each atom of a saved
    proposal: the part holding the atom's representative point, else the one it overlaps most.
    """
    ordered = parts.sort_values("part") if "part" in parts else parts
    geoms = reproject(ordered, atoms.crs).geometry.values if ordered.crs is not None else ordered.geometry.values
    points = atoms.geometry.representative_point().values
    labels = np.full(len(atoms), -1, dtype=int)
    for g, geom in enumerate(geoms):
        inside = shapely.intersects(geom, points) & (labels < 0)
        labels[inside] = g
    for i in np.flatnonzero(labels < 0):
        overlap = shapely.area(shapely.intersection(geoms, atoms.geometry.values[i]))
        labels[i] = int(np.argmax(overlap))
    return labels


def reassign(
    split: ManualSplit,
    atoms: gpd.GeoDataFrame,
    which: Sequence[int] | np.ndarray,
    part: int,
    *,
    rules: RuleSet | None = None,
) -> ManualSplit:
    """Move atoms (their positions in ``atoms``) to ``part`` (1, 2, …): a hand adjustment.

    The parts are made again from whole atoms, so the boundary still tiles the community;
    whether each part is in one piece is in ``parts["pieces"]`` (:attr:`ManualSplit.contiguous`).

    Raises
    ------
    InfeasibleError
        If ``part`` is not one of the split's parts.
    """
    k = len(split.parts)
    if not 1 <= int(part) <= k:
        msg = N_("There is no part {part}: choose a part from 1 to {k}.")
        raise InfeasibleError(msg, part=part, k=k)
    labels = split.labels.copy()
    labels[np.asarray(which, dtype=int)] = int(part) - 1
    return from_labels(
        atoms, labels, k=k, rules=rules, community_id=split.community_id, source=split.source
    )


def _column(atoms: gpd.GeoDataFrame, *names: str) -> np.ndarray:
    for name in names:
        if name in atoms:
            return pd.to_numeric(atoms[name], errors="coerce").fillna(0).to_numpy(dtype=float)
    return np.zeros(len(atoms))


def _parts(
    atoms: gpd.GeoDataFrame, labels: np.ndarray, k: int, *, n_drawn: int, rules: RuleSet
) -> gpd.GeoDataFrame:
    households = _column(atoms, "households")
    residents = _column(atoms, "residents")
    special = _column(atoms, "special", "special_service_households")
    geoms = atoms.geometry.values
    mean = households.sum() / k if k else 0.0
    rows = []
    for g in range(k):
        mask = labels == g
        hh = round(households[mask].sum())
        union = shapely.union_all(geoms[mask], grid_size=1e-6) if mask.any() else shapely.Polygon()
        rows.append(
            {
                "part": g + 1,
                "drawn": g < n_drawn,
                "households": hh,
                "residents": round(residents[mask].sum()),
                "special_service_households": round(special[mask].sum()),
                "required_staff": math.ceil(hh / rules.households_per_worker),
                "deviation": (hh - mean) / mean if mean else 0.0,
                "n_atoms": int(mask.sum()),
                "pieces": int(shapely.get_num_geometries(union)) if not union.is_empty else 0,
                "geometry": union,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=atoms.crs)
