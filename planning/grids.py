"""The grid engine: contiguous 30–50 household grids that tile each community.

How it works
------------
1. **Atoms.** Every building's territory (:mod:`planning.territory`) is an atom. A
   building with more households than a grid holds is divided by unit (单元) and floor
   range into near-equal parts, and its territory into as many equal-area pieces (an r × c
   arrangement, which keeps pieces compact); a building that cannot be divided into whole
   in-range parts is divided by unit, and the units are grouped like small buildings.
2. **Zones.** Each compound (小区) is a zone; so is the rest of each street block. Zones are
   divided alone. A zone that cannot be divided alone (too few households, or households
   on a lattice that no grouping fits) is joined to a neighbouring zone — the only case in
   which a grid crosses a compound edge or a road.
3. **Division.** Within a zone the atoms are ordered along several sweeps (straight and
   serpentine, in four directions); for each order, dynamic programming cuts it into
   consecutive runs minimising, in this order, the number of runs outside the band, the
   runs that are not connected, and then the distance from the target and the spread
   (compactness). Connectivity of each run is kept incrementally with a union–find. The
   best cut over all orders wins; single moves of boundary atoms then repair what is left.
4. **Territory.** Atoms with no households (parks, shops) join an adjacent grid; grids are
   unions of their atoms' territories, snap-rounded so they tile the community exactly.
5. **Patches and codes.** Whole grids are grouped the same way into contiguous patches of
   about ``patch_households``, one per required worker; grids are coded district (6) +
   street (3) + community (3) + sequence (3), numbered north→south, west→east.

Every grid outside the band is reported with the reason (``status``, ``reason``).

Examples
--------
>>> from gis.datasets.synthetic import make_district
>>> layers = make_district(3_000, seed=1)
>>> result = make_grids(layers["buildings"], communities=layers["communities"],
...                     roads=layers["roads"], compounds=layers["compounds"])
>>> int(result.grids["households"].sum()) == int(layers["buildings"]["households"].sum())
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import STORAGE_CRS
from gis.i18n import N_, translator
from planning.partition import (
    components,
    exactly_k,
    is_connected,
    partition,
    polsby_popper,
    rook_neighbours,
)
from planning.rules import RuleSet, get_preset
from planning.territory import split_equal_area, territories

__all__ = ["GridResult", "crosswalk", "make_grids", "partition", "polsby_popper", "stable_codes"]


# --------------------------------------------------------------------------------------
# atoms: cells, tower pieces, units
# --------------------------------------------------------------------------------------
@dataclass
class _Atom:
    geometry: shapely.Geometry
    households: int
    building: object = None
    unit_from: int | None = None
    unit_to: int | None = None
    floor_from: int | None = None
    floor_to: int | None = None
    special: float = 0.0
    residents: float = 0.0
    zone: object = None
    block: int = -1
    units: int = 1
    floors: int = 1


def _floor_ranges(floors: int, parts: int) -> list[tuple[int, int]]:
    edges = np.round(np.linspace(0, floors, parts + 1)).astype(int)
    return [(int(a) + 1, int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _long_axis(geom: shapely.Geometry) -> float:
    rect = shapely.minimum_rotated_rectangle(geom)
    coords = np.asarray(rect.exterior.coords)
    if len(coords) < 4:
        return 0.0
    edges = np.diff(coords[:3], axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    e = edges[int(np.argmax(lengths))]
    return math.degrees(math.atan2(e[1], e[0]))


def _estimate_units(households: int, floors: int) -> int:
    per_floor = households / max(floors, 1)
    per_unit_floor = 4 if floors >= 10 else 2
    return max(1, round(per_floor / per_unit_floor))


def _divide_building(
    row: pd.Series, cell: shapely.Geometry, footprint: shapely.Geometry, *, low: int, high: int
) -> tuple[list[_Atom], str]:
    """Divide a large building by unit and floor range; return its atoms and how."""
    h = int(row["households"])
    floors = int(row.get("floors") or 1) if pd.notna(row.get("floors")) else 1
    units_known = "units" in row and pd.notna(row.get("units")) and int(row["units"]) > 0
    units = int(row["units"]) if units_known else _estimate_units(h, floors)
    how = "units_given" if units_known else "units_estimated"
    angle = _long_axis(footprint)
    special = float(row.get("special_service_households", 0) or 0)
    residents = float(row.get("residents", 0) or 0)
    fewest = math.ceil(h / high)
    most = h // low
    best: tuple[float, int, int] | None = None  # (spread, column groups, floor bands)
    for k in range(fewest, most + 1):
        for c in (d for d in range(1, units + 1) if units % d == 0):
            if k % c:
                continue
            r = k // c
            if r > floors:
                continue
            ranges = _floor_ranges(floors, r)
            sizes = [h * (hi - lo + 1) / floors / c for lo, hi in ranges]
            if min(sizes) < low or max(sizes) > high:
                continue
            score = (k - fewest) * 10 + abs(c - math.sqrt(k))
            if best is None or score < best[0]:
                best = (score, c, r)
        if best is not None:
            break
    atoms: list[_Atom] = []
    if best is not None:
        _, c, r = best
        per_group = units // c
        columns = split_equal_area(cell, [1.0] * c, angle=angle)
        counts = _apportion(h, [1.0] * (c * r))
        ranges = _floor_ranges(floors, r)
        weights = [(hi - lo + 1) for lo, hi in ranges]
        i = 0
        for ci, column in enumerate(columns):
            pieces = split_equal_area(column, weights, angle=angle + 90)
            col_counts = _apportion(sum(counts[ci * r : (ci + 1) * r]), weights)
            for (lo, hi), piece, count in zip(ranges, pieces, col_counts, strict=True):
                atoms.append(
                    _Atom(
                        piece,
                        count,
                        row.name,
                        ci * per_group + 1,
                        (ci + 1) * per_group,
                        lo,
                        hi,
                        special * count / h,
                        residents * count / h,
                    )
                )
                i += 1
        return atoms, how
    # No whole in-range division: divide by unit and let the units group with neighbours.
    return _divide_by_unit(row, cell, angle, units, floors, h, special, residents), how


def _divide_by_unit(
    row: pd.Series,
    cell: shapely.Geometry,
    angle: float,
    units: int,
    floors: int,
    h: int,
    special: float,
    residents: float,
) -> list[_Atom]:
    """Divide a building into its units, or a one-unit building into two floor bands.

    The parts are grouped with neighbours like small buildings (e.g. a 56-household
    walk-up's four units of 14 go to two grids).
    """
    units = max(1, units)
    if units == 1 and floors >= 2:
        bands = _floor_ranges(floors, 2)
        weights = [hi - lo + 1 for lo, hi in bands]
        counts = _apportion(h, weights)
        pieces = split_equal_area(cell, weights, angle=angle + 90)
        return [
            _Atom(
                piece,
                count,
                row.name,
                1,
                1,
                lo,
                hi,
                special * count / h,
                residents * count / h,
                units=1,
                floors=floors,
            )
            for (lo, hi), piece, count in zip(bands, pieces, counts, strict=True)
        ]
    counts = _apportion(h, [1.0] * units)
    pieces = split_equal_area(cell, [1.0] * units, angle=angle)
    return [
        _Atom(
            piece,
            count,
            row.name,
            u + 1,
            u + 1,
            1,
            floors,
            special * count / h,
            residents * count / h,
            units=1,
            floors=floors,
        )
        for u, (piece, count) in enumerate(zip(pieces, counts, strict=True))
    ]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer in proportion to weights (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(int)
    remainder = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:remainder]] += 1
    return base.tolist()


# --------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridResult:
    """Grids, their members and patches for one or more communities.

    Attributes
    ----------
    grids
        Polygons in EPSG:4490 with ``grid_code``, ``community_id``, ``households``,
        ``residents``, ``special_service_households``, ``workload``, ``patch_id``,
        ``n_buildings``, ``status`` (``ok`` or ``out_of_range``) and ``reason``.
    grid_members
        ``grid_code``, ``building_id``, ``unit_from``, ``unit_to``, ``floor_from``,
        ``floor_to``, ``households``.
    patches
        Worker patches (片区): unions of whole grids, in EPSG:4490.
    divided_buildings
        ``building_id``, ``parts``, ``how`` (``units_given`` or ``units_estimated``).
    crosswalk
        ``old_code``, ``new_code``, ``overlap_share``, ``kept`` when re-gridding.
    """

    grids: gpd.GeoDataFrame
    grid_members: pd.DataFrame
    patches: gpd.GeoDataFrame
    divided_buildings: pd.DataFrame = field(default_factory=pd.DataFrame)
    crosswalk: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self, *, low: int = 30, high: int = 50) -> dict[str, float]:
        """Share in range, min and max households, contiguity (the CLI's JSON)."""
        hh = self.grids["households"]
        parts = shapely.get_num_geometries(self.grids.geometry.values)
        return {
            "grids": int(len(self.grids)),
            "in_range_share": round(float(((hh >= low) & (hh <= high)).mean()), 4)
            if len(hh)
            else 1.0,
            "min_households": int(hh.min()) if len(hh) else 0,
            "max_households": int(hh.max()) if len(hh) else 0,
            "contiguous_share": round(float((parts == 1).mean()), 4) if len(hh) else 1.0,
        }


def _grid_community(
    atoms: list[_Atom],
    *,
    rules: RuleSet,
    lang: str,
) -> tuple[list[_Atom], np.ndarray, dict[int, str], set[str], list[set[int]]]:
    """Group one community's atoms into grids; return the atoms used, labels, reasons,
    the zones (compounds, street blocks) that could not be divided on their own and the
    atoms' rook neighbours.

    Zones that cannot be divided with whole buildings are tried again with their
    multi-unit buildings divided by unit (a grid boundary between two stairwells), and
    the better of the two passes is kept.
    """
    best = (atoms, *_grid_pass(atoms, rules=rules, lang=lang))
    current = best
    for _ in range(2):  # refine the zones still failing, at most twice
        used, labels, _reasons, failed, _nb = current
        failed = failed | _bad_zones(used, labels, rules)
        if not failed:
            break
        refined = _refine(used, failed)
        if len(refined) == len(used):
            break
        current = (refined, *_grid_pass(refined, rules=rules, lang=lang))
        if _quality(current[0], current[1], current[4], rules) < _quality(
            best[0], best[1], best[4], rules
        ):
            best = current
    return best


def _move_floors(
    atoms: list[_Atom], labels: np.ndarray, reasons: dict[int, str], *, low: int, high: int
) -> None:
    """Move floors between the stacked parts of a divided building to bring grids into the band.

    A tower divided into equal floor bands can leave a grid just outside the band (a
    15-household compound next to a 36-household band makes 51). Moving the boundary
    floor between two bands of the same units, in different grids, fixes it when both
    grids end in the band. Floors stack, so the map territory stays as it is.
    """
    sums = np.bincount(labels, weights=[a.households for a in atoms]).astype(float)
    for g in [int(g) for g in np.flatnonzero((sums > 0) & ((sums < low) | (sums > high)))]:
        for i in np.flatnonzero(labels == g):
            p = atoms[i]
            if p.floor_from is None or p.floor_to is None or p.households <= 0:
                continue
            for j, q in enumerate(atoms):
                h = int(labels[j])
                if (
                    h == g
                    or q.building != p.building
                    or (q.unit_from, q.unit_to) != (p.unit_from, p.unit_to)
                    or q.floor_from is None
                    or q.floor_to is None
                    or not (q.floor_from == p.floor_to + 1 or q.floor_to == p.floor_from - 1)
                ):
                    continue
                donor_is_p = sums[g] > high
                donor, taker = (p, q) if donor_is_p else (q, p)
                floors = donor.floor_to - donor.floor_from + 1
                for t in range(1, floors):
                    moved = round(donor.households * t / floors)
                    new_g = sums[g] - moved if donor_is_p else sums[g] + moved
                    new_h = sums[h] + moved if donor_is_p else sums[h] - moved
                    if low <= new_g <= high and low <= new_h <= high:
                        donor.households -= moved
                        taker.households += moved
                        if donor.floor_to + 1 == taker.floor_from:  # donor below taker
                            donor.floor_to -= t
                            taker.floor_from -= t
                        else:
                            donor.floor_from += t
                            taker.floor_to += t
                        sums[g], sums[h] = new_g, new_h
                        reasons.pop(g, None)
                        break
                if low <= sums[g] <= high:
                    break
            if low <= sums[g] <= high:
                break


def _bad_zones(atoms: list[_Atom], labels: np.ndarray, rules: RuleSet) -> set[str]:
    sums = np.bincount(labels, weights=[a.households for a in atoms])
    bad = (sums < rules.grid_min_households) | (sums > rules.grid_max_households)
    return {str(a.zone) for a, g in zip(atoms, labels, strict=True) if bad[g] and a.households > 0}


def _out_count(atoms: list[_Atom], labels: np.ndarray, rules: RuleSet) -> int:
    sums = np.bincount(labels, weights=[a.households for a in atoms])
    used = np.bincount(labels, weights=[a.households > 0 for a in atoms]) > 0
    bad = (sums < rules.grid_min_households) | (sums > rules.grid_max_households)
    return int((bad & used).sum())


def _crossing_count(atoms: list[_Atom], labels: np.ndarray) -> int:
    """Grids holding households of more than one zone (compound or street block)."""
    zones: dict[int, set[str]] = {}
    for a, g in zip(atoms, labels, strict=True):
        if a.households > 0:
            zones.setdefault(int(g), set()).add(str(a.zone))
    return sum(len(z) > 1 for z in zones.values())


def _quality(
    atoms: list[_Atom], labels: np.ndarray, nb: list[set[int]], rules: RuleSet
) -> tuple[int, int, int]:
    """What a pass is judged by: grids in pieces first, then grids out of the band, then
    grids crossing a zone edge (fewer is better)."""
    pieces = sum(len(components(np.flatnonzero(labels == g), nb)) > 1 for g in np.unique(labels))
    return pieces, _out_count(atoms, labels, rules), _crossing_count(atoms, labels)


def _refine(atoms: list[_Atom], zones: set[str]) -> list[_Atom]:
    """Divide the buildings of ``zones`` one step further.

    A whole building by unit (or a one-unit building into two floor bands); a part of a
    tower (units × floor band) by unit, or a one-unit band by halving its floor range.
    Each piece gets its share of the households and of the territory.
    """
    out: list[_Atom] = []
    for atom in atoms:
        cut = _next_cut(atom) if str(atom.zone) in zones and atom.households > 0 else None
        if cut is None:
            out.append(atom)
            continue
        parts, weights, across, units = cut
        angle = _long_axis(atom.geometry) + (90 if across else 0)
        pieces = split_equal_area(atom.geometry, weights, angle=angle)
        counts = _apportion(atom.households, weights)
        for (u0, u1, f0, f1), piece, count in zip(parts, pieces, counts, strict=True):
            share = count / atom.households
            out.append(
                _Atom(
                    piece,
                    count,
                    atom.building,
                    u0,
                    u1,
                    f0,
                    f1,
                    atom.special * share,
                    atom.residents * share,
                    atom.zone,
                    atom.block,
                    units,
                    atom.floors,
                )
            )
    return out


def _next_cut(atom: _Atom) -> tuple[list[tuple[int, int, int, int]], list[float], bool, int] | None:
    """How :func:`_refine` divides an atom, or None: the (unit, floor) ranges of the
    pieces, their weights, whether the cut runs across the long axis (floors), and the
    ``units`` the pieces keep (1 for pieces of a whole building)."""
    whole = atom.unit_from in (None, 1) and (atom.unit_to is None or atom.unit_to == atom.units)
    whole = (
        whole
        and atom.floor_from in (None, 1)
        and (atom.floor_to is None or atom.floor_to == atom.floors)
    )
    if whole:
        if atom.units >= 2:
            return (
                [(u + 1, u + 1, 1, atom.floors) for u in range(atom.units)],
                [1.0] * atom.units,
                False,
                1,
            )
        if atom.floors >= 2 and atom.households >= 2:
            bands = _floor_ranges(atom.floors, 2)
            return (
                [(1, 1, lo, hi) for lo, hi in bands],
                [float(hi - lo + 1) for lo, hi in bands],
                True,
                1,
            )
        return None
    if atom.households < 2 or None in (
        atom.unit_from,
        atom.unit_to,
        atom.floor_from,
        atom.floor_to,
    ):
        return None
    u0, u1, f0, f1 = atom.unit_from, atom.unit_to, atom.floor_from, atom.floor_to
    if u1 > u0:
        return [(u, u, f0, f1) for u in range(u0, u1 + 1)], [1.0] * (u1 - u0 + 1), False, atom.units
    if f1 > f0:
        bands = [(f0 + lo - 1, f0 + hi - 1) for lo, hi in _floor_ranges(f1 - f0 + 1, 2)]
        return (
            [(u0, u1, lo, hi) for lo, hi in bands],
            [float(hi - lo + 1) for lo, hi in bands],
            True,
            atom.units,
        )
    return None


def _grid_pass(
    atoms: list[_Atom],
    *,
    rules: RuleSet,
    lang: str,
) -> tuple[np.ndarray, dict[int, str], set[str], list[set[int]]]:
    """One pass of zone division and merging; also returns the zones that failed alone and
    the atoms' rook neighbours."""
    low, high = rules.grid_min_households, rules.grid_max_households
    target = (low + high) / 2
    n = len(atoms)
    geoms = np.array([a.geometry for a in atoms], dtype=object)
    cent = shapely.centroid(geoms)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    hh = np.array([a.households for a in atoms], dtype=float)
    extra = (rules.special_service_weight - 1.0) * np.array([a.special for a in atoms])
    work = hh + extra
    nb = rook_neighbours(geoms)
    zone_of = np.array([str(a.zone) for a in atoms], dtype=object)
    # Contract empty atoms: two atoms that touch the same empty atom of their zone are adjacent.
    # Atoms with no households (parks, shops) take part in the division as connectors of
    # weight 0, so every run found connected is connected on the map.
    nb_full = nb
    labels = np.full(n, -1, dtype=int)
    next_label = 0
    zones: dict[str, np.ndarray] = {}
    for z in pd.unique(zone_of):
        members = np.flatnonzero(zone_of == z)
        for comp in components(members, nb_full):
            if work[comp].sum() > 0:
                zones[f"{z}#{len(zones)}"] = comp

    # Merge zones that cannot stand alone into a neighbour, smallest first.
    def zone_ok(members: np.ndarray) -> tuple[bool, np.ndarray]:
        local = {int(a): i for i, a in enumerate(members)}
        local_nb = [{local[b] for b in nb_full[a] if b in local} for a in members]
        lab = partition(
            work[members], x[members], y[members], local_nb, low=low, high=high, target=target
        )
        sums = np.bincount(lab, weights=work[members])
        in_band = bool(((sums >= low) & (sums <= high)).all())
        return in_band and all(
            is_connected(np.flatnonzero(lab == g).tolist(), local_nb) for g in range(len(sums))
        ), lab

    results: dict[str, np.ndarray] = {}
    pending = sorted(zones, key=lambda z: work[zones[z]].sum())
    owner = np.full(n, "", dtype=object)
    for z, members in zones.items():
        owner[members] = z
    reasons: dict[int, str] = {}
    failed: set[str] = set()
    tr = translator(lang).gettext
    while pending:
        z = pending.pop(0)
        if z not in zones:
            continue
        members = zones[z]
        ok, lab = zone_ok(members)
        if ok:
            results[z] = lab
            continue
        failed.update(str(atoms[a].zone) for a in members)
        touching = {owner[b] for a in members for b in nb_full[a]} - {z, ""}
        if not touching:
            results[z] = lab
            continue
        # join the smallest neighbouring zone (by households) and try again
        other = min(touching, key=lambda t: work[zones[t]].sum())
        merged = np.concatenate([members, zones.pop(other)])
        results.pop(other, None)
        del zones[z]
        name = f"{z}+{other}"
        zones[name] = merged
        owner[merged] = name
        pending = [p for p in pending if p != other]
        pending.insert(0, name)
    zone_label: dict[int, str] = {}
    for z, lab in results.items():
        members = zones.get(z)
        if members is None:
            continue
        for g in np.unique(lab):
            idx = members[lab == g]
            if work[idx].sum() <= 0:
                continue  # only empty atoms: they join an adjacent grid below
            labels[idx] = next_label
            zone_label[next_label] = z
            next_label += 1
    labels = _improve(labels, work, x, y, nb_full, low=low, high=high, target=target)
    labels = _absorb_small(labels, work, nb_full, zone_of, low=low, high=high, target=target)
    sums = pd.Series(work).groupby(labels).sum()
    for g, total in sums.items():
        if g < 0 or low <= total <= high:
            continue
        members = np.flatnonzero(labels == g)
        z = zone_label.get(int(g), "")
        zone_members = zones.get(z, members)
        touching = {owner[b] for a in zone_members for b in nb_full[a]} - {z, ""}
        if work.sum() < low:
            reasons[int(g)] = tr(
                N_(
                    "the whole community has only {n} households, fewer than a grid's minimum of {low}"
                )
            ).format(n=int(work.sum()), low=low)
        elif not touching and "+" not in z:
            reasons[int(g)] = tr(
                N_(
                    "an isolated area of {n} households with no neighbour it may join; "
                    "it cannot be divided into {low}–{high} household grids"
                )
            ).format(n=int(work[zone_members].sum()), low=low, high=high)
        elif (
            total < low
            and (joined := _best_join(members, labels, sums, nb_full, total)) is not None
            and joined > high
        ):
            reasons[int(g)] = tr(
                N_(
                    "only {n} households here, and joining the smallest neighbouring grid would make "
                    "{joined}, more than {high}"
                )
            ).format(n=int(total), joined=int(joined), high=high)
        else:
            reasons[int(g)] = tr(
                N_(
                    "{n} households here sit in buildings that cannot be grouped into "
                    "{low}–{high} household grids without dividing a unit"
                )
            ).format(n=int(total), low=low, high=high)
    _bridge(labels, nb)
    # Empty atoms join the adjacent grid they share the longest boundary with.
    for _ in range(n):
        unassigned = np.flatnonzero(labels < 0)
        if not len(unassigned):
            break
        progressed = False
        for e in unassigned:
            options = [labels[b] for b in nb[e] if labels[b] >= 0]
            if options:
                labels[e] = _longest_shared(geoms, e, [b for b in nb[e] if labels[b] >= 0], labels)
                progressed = True
        if not progressed:
            for e in unassigned:  # an empty area touching nothing: its own (empty) grid
                labels[e] = next_label
                reasons[next_label] = tr(N_("an area with no households and no neighbouring grid"))
                next_label += 1
            break
    return labels, reasons, failed, nb


def _absorb_small(
    labels: np.ndarray,
    work: np.ndarray,
    nb: list[set[int]],
    zone_of: np.ndarray,
    *,
    low: float,
    high: float,
    target: float,
) -> np.ndarray:
    """Join each grid under the band to a touching grid it fits into (two touching
    connected grids make a connected one): one of its own zone first, then the one that
    lands nearest the target."""
    labels = labels.copy()
    for _ in range(len(labels)):
        sums = pd.Series(work).groupby(labels).sum()
        small = [int(g) for g, s in sums.items() if g >= 0 and 0 < s < low]
        merged = False
        for g in small:
            members = np.flatnonzero(labels == g)
            zones = set(zone_of[members])
            options = []
            for t in _touching_grids(members, labels, nb):
                total = float(sums[g] + sums[t])
                if total <= high:
                    other_zone = not zones & set(zone_of[labels == t])
                    options.append((other_zone, abs(total - target), t))
            if options:
                labels[members] = min(options)[2]
                merged = True
                break
        if not merged:
            break
    return labels


def _best_join(
    members: np.ndarray, labels: np.ndarray, sums: pd.Series, nb: list[set[int]], total: float
) -> float | None:
    """Households of the smallest grid ``members`` could join, once joined (None: none touch).

    ``sums`` holds each grid's households (or workload) by label.
    """
    return min((total + float(sums[t]) for t in _touching_grids(members, labels, nb)), default=None)


def _touching_grids(members: np.ndarray, labels: np.ndarray, nb: list[set[int]]) -> set[int]:
    """The grids (labels) touching the grid made of ``members``, other than its own."""
    own = int(labels[members[0]])
    return {int(labels[b]) for a in members for b in nb[a]} - {own, -1}


def _improve(
    labels: np.ndarray,
    work: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    nb: list[set[int]],
    *,
    low: float,
    high: float,
    target: float,
    rounds: int = 3,
) -> np.ndarray:
    """Re-divide each grid outside the band together with the grids around it.

    A large-neighbourhood search: the atoms of a bad grid and its neighbouring grids are
    divided again as one small problem; the result is kept when fewer grids are out of
    the band. This crosses a compound edge only next to a grid that cannot be fixed inside.
    """
    labels = labels.copy()
    for _ in range(rounds):
        sums = pd.Series(work).groupby(labels).sum()
        bad = [int(g) for g, s in sums.items() if g >= 0 and not low <= s <= high]
        if not bad:
            break
        changed = False
        for g in bad:
            members = np.flatnonzero(labels == g)
            if not len(members) or low <= work[members].sum() <= high:
                continue
            around = _touching_grids(members, labels, nb)
            for ring in (
                around,
                around
                | {
                    int(labels[c])
                    for h in around
                    for a in np.flatnonzero(labels == h)
                    for c in nb[a]
                }
                - {-1},
            ):
                groups = sorted(ring | {g})
                region = np.flatnonzero(np.isin(labels, groups))
                local = {int(a): i for i, a in enumerate(region)}
                local_nb = [{local[b] for b in nb[a] if b in local} for a in region]
                lab = partition(
                    work[region], x[region], y[region], local_nb, low=low, high=high, target=target
                )
                before = sum(1 for h in groups if not low <= work[labels == h].sum() <= high)
                new_sums = np.bincount(lab, weights=work[region])
                after = int(((new_sums < low) | (new_sums > high)).sum())
                if after < before and all(
                    is_connected(np.flatnonzero(lab == h).tolist(), local_nb)
                    for h in np.unique(lab)
                ):
                    fresh = labels.max() + 1
                    labels[region] = lab + fresh
                    changed = True
                    break
        if not changed:
            break
    return labels


def _bridge(labels: np.ndarray, nb: list[set[int]]) -> None:
    """Give a grid the empty areas that connect its parts (they were its bridges in the division)."""
    unassigned = np.flatnonzero(labels < 0)
    if not len(unassigned):
        return
    empty_components = components(unassigned, nb)
    for group in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == group)
        parts = components(members, nb)
        if len(parts) <= 1:
            continue
        part_of = {int(a): i for i, part in enumerate(parts) for a in part}
        for comp in empty_components:
            if labels[comp[0]] >= 0:
                continue
            touched = {part_of[b] for a in comp for b in nb[a] if b in part_of}
            if len(touched) >= 2:
                labels[comp] = group


def _longest_shared(geoms: np.ndarray, atom: int, candidates: list[int], labels: np.ndarray) -> int:
    lengths = shapely.length(
        shapely.intersection(shapely.buffer(geoms[atom], 0.01), shapely.boundary(geoms[candidates]))
    )
    return int(labels[candidates[int(np.argmax(lengths))]])


def _codes(grids: gpd.GeoDataFrame, community_code: str, depth: float) -> list[str]:
    """Number grids north→south in rows about one grid deep, west→east within a row."""
    cent = grids.geometry.centroid
    top = cent.y.max()
    row = np.floor((top - cent.y) / max(depth, 1.0)).astype(int)
    order = np.lexsort((cent.x.to_numpy(), row.to_numpy()))
    codes = [""] * len(grids)
    prefix = (community_code + "0" * 12)[:12]
    for seq, i in enumerate(order, start=1):
        codes[i] = f"{prefix}{seq:03d}"
    return codes


def make_grids(
    buildings: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    community_ids: Sequence[str] | None = None,
    lang: str = "en",
    progress: Callable[[str], None] | None = None,
    previous: gpd.GeoDataFrame | None = None,
) -> GridResult:
    """Divide communities into contiguous grids of ``grid_min``–``grid_max`` households.

    Parameters
    ----------
    buildings
        Buildings with ``households`` (and ``building_id``, ``floors``, ``units``,
        ``compound_id``, ``special_service_households``, ``residents`` when known).
    communities
        Community polygons with ``community_id`` (12 digits: district 6 + street 3 +
        community 3, used for the grid codes).
    roads, waterways, barriers, compounds
        What bounds blocks and zones.
    rules
        The band (``grid_min_households``–``grid_max_households``), the special-service
        weight and the patch size.
    community_ids
        Only these communities (all by default).
    lang
        Language of the reasons.
    progress
        Called with each community id as it is done (for a progress bar).
    previous
        The grids of an earlier plan: a new grid that barely changed from an old one keeps
        its code, and ``GridResult.crosswalk`` maps old codes to new.

    Returns
    -------
    GridResult
    """
    rules = rules or get_preset()
    communities = _in_storage_crs(communities).copy()
    communities["community_id"] = communities["community_id"].astype(str)
    if community_ids is not None:
        wanted = {str(c) for c in community_ids}
        communities = communities[communities["community_id"].isin(wanted)]
    communities = communities.reset_index(drop=True)
    buildings = _in_storage_crs(buildings).copy()
    if "building_id" not in buildings:
        buildings["building_id"] = [f"B{i + 1:06d}" for i in range(len(buildings))]
    # Each community is gridded on its own rows: its buildings and the lines touching it
    # (so a batch over communities, planning.batch, gives the very same grids).
    owner = buildings_by_community(buildings, communities)
    by_owner = pd.Series(np.arange(len(buildings))).groupby(owner).indices
    polygons = communities.geometry.values
    lines = {
        name: None if frame is None else _in_storage_crs(frame)
        for name, frame in {
            "roads": roads,
            "waterways": waterways,
            "barriers": barriers,
            "compounds": compounds,
        }.items()
    }
    touching = {name: rows_touching(frame, polygons) for name, frame in lines.items()}
    grid_frames, member_rows, patch_frames, divided_rows, walks = [], [], [], [], []
    for i in np.argsort(communities["community_id"].to_numpy(), kind="stable"):
        rows = np.sort(by_owner.get(i, np.zeros(0, dtype=np.int64)))
        parts = {
            name: None if frame is None or touching[name] is None else frame.iloc[touching[name][i]]
            for name, frame in lines.items()
        }
        done = _grid_one_community(
            buildings.iloc[rows],
            communities.iloc[[i]],
            **parts,
            rules=rules,
            lang=lang,
            previous=previous,
        )
        if done is None:
            continue
        grids, members, patches, divided, walk = done
        grid_frames.append(grids)
        member_rows.append(members)
        patch_frames.append(patches)
        divided_rows.extend(divided)
        if walk is not None:
            walks.append(walk)
        if progress is not None:
            progress(str(communities["community_id"].iloc[i]))
    crs = STORAGE_CRS
    grids = (
        gpd.GeoDataFrame(pd.concat(grid_frames, ignore_index=True), crs=crs)
        if grid_frames
        else _empty_grids(crs)
    )
    members = pd.concat(member_rows, ignore_index=True) if member_rows else pd.DataFrame()
    patches = (
        gpd.GeoDataFrame(pd.concat(patch_frames, ignore_index=True), crs=crs)
        if patch_frames
        else _empty_grids(crs)
    )
    return GridResult(
        grids=grids,
        grid_members=members,
        patches=patches,
        divided_buildings=pd.DataFrame(divided_rows, columns=["building_id", "parts", "how"]),
        crosswalk=pd.concat(walks, ignore_index=True) if walks else pd.DataFrame(),
    )


def _grid_one_community(
    buildings: gpd.GeoDataFrame,
    community: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None,
    waterways: gpd.GeoDataFrame | None,
    barriers: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
    rules: RuleSet,
    lang: str,
    previous: gpd.GeoDataFrame | None,
) -> (
    tuple[
        gpd.GeoDataFrame,
        pd.DataFrame,
        gpd.GeoDataFrame,
        list[dict[str, object]],
        pd.DataFrame | None,
    ]
    | None
):
    """Territories and grids of one community from its own rows (None: nothing to tile)."""
    if buildings.empty:
        return None
    cells = territories(
        buildings,
        communities=community,
        roads=roads,
        waterways=waterways,
        barriers=barriers,
        compounds=compounds,
    )
    if cells.empty:
        return None
    community_id = str(community["community_id"].iloc[0])
    crs = cells.crs
    buildings_m = buildings.to_crs(crs)
    compound_of = _compound_lookup(cells, compounds, crs)
    low, high = rules.grid_min_households, rules.grid_max_households
    divided_rows: list[dict[str, object]] = []
    walk: pd.DataFrame | None = None
    # plain per-building records: pandas row access is slow in this loop
    records = buildings_m.drop(columns=buildings_m.geometry.name).to_dict("index")

    def number(record: dict[str, object], name: str) -> int | None:
        value = record.get(name)
        return int(value) if value is not None and pd.notna(value) else None

    atoms: list[_Atom] = []
    for idx, geometry, label, block in zip(
        cells.index,
        cells.geometry.values,
        cells["building"],
        cells["block"].astype(int),
        strict=True,
    ):
        zone = compound_of[idx] if compound_of[idx] is not None else f"block{block}"
        record = records.get(label) if label is not None and not pd.isna(label) else None
        h = int(record["households"]) if record is not None else 0
        if h <= 0:
            atoms.append(_Atom(geometry, 0, label, zone=zone, block=int(block)))
            continue
        if h > high:
            row = buildings_m.loc[label]
            pieces, how = _divide_building(row, geometry, row.geometry, low=low, high=high)
            divided_rows.append(
                {"building_id": row["building_id"], "parts": len(pieces), "how": how}
            )
        else:
            floors, units = number(record, "floors"), number(record, "units")
            pieces = [
                _Atom(
                    geometry,
                    h,
                    label,
                    1 if units else None,
                    units,
                    1 if floors else None,
                    floors,
                    float(record.get("special_service_households", 0) or 0),
                    float(record.get("residents", 0) or 0),
                    units=units or _estimate_units(h, floors or 1),
                    floors=floors or 1,
                )
            ]
        for piece in pieces:
            piece.zone, piece.block = zone, int(block)
        atoms.extend(pieces)
    atoms, labels, reasons, failed, atom_nb = _grid_community(atoms, rules=rules, lang=lang)
    _move_floors(atoms, labels, reasons, low=low, high=high)
    grids, members, code_of = _assemble_grids(
        atoms,
        labels,
        reasons,
        buildings_m,
        community_id,
        crs,
        rules,
        failed=failed,
        nb=atom_nb,
        lang=lang,
    )
    # grids touch where their atoms do (no polygon overlay of the grids needed)
    index_of = {code: i for i, code in enumerate(grids["grid_code"])}
    grid_of_atom = [index_of[code_of[int(g)]] for g in labels]
    grid_nb: list[set[int]] = [set() for _ in range(len(grids))]
    for a, others in enumerate(atom_nb):
        for b in others:
            ga, gb = grid_of_atom[a], grid_of_atom[b]
            if ga != gb:
                grid_nb[ga].add(gb)
                grid_nb[gb].add(ga)
    if previous is not None:
        before = previous.to_crs(crs)
        before = before[
            before["grid_code"].astype(str).str[:12] == str(grids["grid_code"].iloc[0])[:12]
        ]
        if len(before):
            codes, walk = stable_codes(grids, before)
            renamed = dict(zip(grids["grid_code"], codes, strict=True))
            grids["grid_code"] = codes
            members["grid_code"] = members["grid_code"].map(renamed)
    patches = _patches(grids, rules=rules, neighbours=grid_nb)
    grids["patch_id"] = grids["grid_code"].map(patches["patch_of"])
    return (
        grids.to_crs(STORAGE_CRS),
        members,
        patches["patches"].to_crs(STORAGE_CRS),
        divided_rows,
        walk,
    )


def _in_storage_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        return frame.set_crs(STORAGE_CRS)
    return frame if frame.crs == STORAGE_CRS else frame.to_crs(STORAGE_CRS)


def buildings_by_community(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> np.ndarray:
    """Position of the community holding each building (-1: none), as the engines assign them.

    By the building's representative point; a point on a shared edge goes to the first
    community touching it; a building whose point is in none goes to the community its
    footprint overlaps most.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> c = gpd.GeoDataFrame({"community_id": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> b = gpd.GeoDataFrame(geometry=[box(0.1, 0.1, 0.2, 0.2), box(1.5, 0.5, 1.6, 0.6), box(5, 5, 6, 6)])
    >>> buildings_by_community(b, c).tolist()
    [0, 1, -1]
    """
    points = buildings.geometry.representative_point()
    out = np.full(len(buildings), -1, dtype=np.int64)
    idx_point, idx_area = communities.sindex.query(points.values, predicate="intersects")
    order = np.lexsort((idx_area, idx_point))
    idx_point, idx_area = idx_point[order], idx_area[order]
    first = np.r_[True, idx_point[1:] != idx_point[:-1]] if len(idx_point) else np.zeros(0, bool)
    out[idx_point[first]] = idx_area[first]
    for i in np.flatnonzero(out < 0):
        overlaps = shapely.area(
            shapely.intersection(buildings.geometry.values[i], communities.geometry.values)
        )
        if len(overlaps) and overlaps.max() > 0:
            out[i] = int(np.argmax(overlaps))
    return out


def rows_touching(frame: gpd.GeoDataFrame | None, polygons: np.ndarray) -> list[np.ndarray] | None:
    """For each polygon, the positions (in order) of ``frame``'s rows that touch it."""
    if frame is None or frame.empty:
        return None
    idx_poly, idx_row = frame.sindex.query(polygons, predicate="intersects")
    order = np.lexsort((idx_row, idx_poly))
    idx_poly, idx_row = idx_poly[order], idx_row[order]
    bounds = np.searchsorted(idx_poly, np.arange(len(polygons) + 1))
    return [idx_row[bounds[i] : bounds[i + 1]] for i in range(len(polygons))]


def _empty_grids(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"grid_code": []}, geometry=[], crs=crs)


def _compound_lookup(
    cells: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame | None, crs: object
) -> list[object]:
    if compounds is None or compounds.empty:
        return [None] * len(cells)
    comp = compounds.to_crs(crs)
    ids = (
        comp["compound_id"].astype(str).to_numpy()
        if "compound_id" in comp
        else np.arange(len(comp)).astype(str)
    )
    points = cells.geometry.representative_point().values
    idx_point, idx_comp = comp.sindex.query(points, predicate="within")
    out: list[object] = [None] * len(cells)
    for p, c in zip(idx_point, idx_comp, strict=True):
        out[p] = f"compound:{ids[c]}"
    return out


def _assemble_grids(
    atoms: list[_Atom],
    labels: np.ndarray,
    reasons: dict[int, str],
    buildings_m: gpd.GeoDataFrame,
    community_id: str,
    crs: object,
    rules: RuleSet,
    *,
    failed: set[str],
    nb: list[set[int]],
    lang: str,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[int, str]]:
    low, high = rules.grid_min_households, rules.grid_max_households
    geoms = np.array([a.geometry for a in atoms], dtype=object)
    rows = []
    for g in np.unique(labels):
        idx = np.flatnonzero(labels == g)
        union = _drop_slivers(shapely.union_all(geoms[idx], grid_size=1e-6))
        if shapely.get_num_geometries(union) > 1:  # snap-rounding pinched a narrow joint
            exact = _drop_slivers(shapely.union_all(geoms[idx]))
            if shapely.get_num_geometries(exact) == 1:
                union = exact
            elif shapely.distance(*shapely.get_parts(exact)[:2]) < 1e-3:
                # parts of divided buildings a hair apart (floating point): close the seam
                closed = shapely.buffer(
                    shapely.buffer(exact, 1e-4, join_style="mitre"), -1e-4, join_style="mitre"
                )
                if shapely.get_num_geometries(closed) == 1:
                    union = closed
        hh = int(sum(atoms[i].households for i in idx))
        special = float(sum(atoms[i].special for i in idx))
        rows.append(
            {
                "label": int(g),
                "community_id": community_id,
                "households": hh,
                "residents": int(round(sum(atoms[i].residents for i in idx))),
                "special_service_households": int(round(special)),
                "workload": round(hh + (rules.special_service_weight - 1) * special, 1),
                "n_buildings": len({atoms[i].building for i in idx if atoms[i].households > 0}),
                "status": "ok" if low <= hh <= high else "out_of_range",
                "reason": reasons.get(int(g), ""),
                "geometry": union,
            }
        )
    grids = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    depth = math.sqrt(max(grids.area.mean(), 1.0))
    grids["grid_code"] = _codes(grids, community_id, depth)
    code_of = dict(zip(grids["label"], grids["grid_code"], strict=True))
    crossing = _crossings(atoms, labels, failed, nb, rules=rules, lang=lang)
    grids["crossed_zones"] = [crossing.get(g, ("", ""))[0] for g in grids["label"]]
    grids["crossing_reason"] = [crossing.get(g, ("", ""))[1] for g in grids["label"]]
    building_ids = buildings_m["building_id"].astype(str)
    members = [
        {
            "grid_code": code_of[int(labels[i])],
            "building_id": building_ids[a.building],
            "unit_from": a.unit_from,
            "unit_to": a.unit_to,
            "floor_from": a.floor_from,
            "floor_to": a.floor_to,
            "households": a.households,
        }
        for i, a in enumerate(atoms)
        if a.households > 0
    ]
    columns = [
        "grid_code",
        "community_id",
        "households",
        "residents",
        "special_service_households",
        "workload",
        "n_buildings",
        "status",
        "reason",
        "crossed_zones",
        "crossing_reason",
        "geometry",
    ]
    grids = grids.sort_values("grid_code")[columns].reset_index(drop=True)
    members_frame = pd.DataFrame(
        members,
        columns=[
            "grid_code",
            "building_id",
            "unit_from",
            "unit_to",
            "floor_from",
            "floor_to",
            "households",
        ],
    ).astype({"unit_from": "Int64", "unit_to": "Int64", "floor_from": "Int64", "floor_to": "Int64"})
    return grids, members_frame, code_of


def _zone_name(zone: str, tr: Callable[[str], str]) -> str:
    if zone.startswith("compound:"):
        return tr(N_("compound {id}")).format(id=zone.split(":", 1)[1])
    return tr(N_("the buildings outside compounds in street block {id}")).format(
        id=zone.removeprefix("block")
    )


def _crossings(
    atoms: list[_Atom],
    labels: np.ndarray,
    failed: set[str],
    nb: list[set[int]],
    *,
    rules: RuleSet,
    lang: str,
) -> dict[int, tuple[str, str]]:
    """For each grid holding households of more than one zone: the zones, and why it crosses.

    A grid crosses a compound edge only where a zone cannot be divided into grids of its
    own: it (or the part of it a road, river or wall cuts off) has fewer households than a
    grid's minimum, or its buildings cannot be grouped into ``grid_min``–``grid_max``
    household grids inside it.
    """
    tr = translator(lang).gettext
    low, high = rules.grid_min_households, rules.grid_max_households
    zone_of = np.array([str(a.zone) for a in atoms], dtype=object)
    households = np.array([a.households for a in atoms], dtype=float)
    size = pd.Series(households).groupby(zone_of).sum().to_dict()
    # the connected pieces of each zone (a road through a compound makes two)
    piece_of = np.full(len(atoms), -1)
    piece_size: list[float] = []
    for z in pd.unique(zone_of):
        for comp in components(np.flatnonzero(zone_of == z), nb):
            piece_of[comp] = len(piece_size)
            piece_size.append(float(households[comp].sum()))
    zones_of: dict[int, dict[str, set[int]]] = {}
    for i, g in enumerate(labels):
        if households[i] > 0:
            zones_of.setdefault(int(g), {}).setdefault(zone_of[i], set()).add(int(piece_of[i]))
    out: dict[int, tuple[str, str]] = {}
    for g, zones in zones_of.items():
        if len(zones) <= 1:
            continue
        held = {z: sum(piece_size[p] for p in pieces) for z, pieces in zones.items()}
        small = [z for z in zones if held[z] < low]
        stuck = [z for z in zones if z in failed and z not in small] or [
            z for z in zones if z not in small
        ]
        parts = [
            tr(N_("{zone} has {n} households, fewer than a grid's minimum of {low}")).format(
                zone=_zone_name(z, tr), n=int(size[z]), low=low
            )
            if held[z] >= size[z]
            else tr(
                N_(
                    "the part of {zone} that a road, river or wall cuts off has {n} households, "
                    "fewer than a grid's minimum of {low}"
                )
            ).format(zone=_zone_name(z, tr), n=int(held[z]), low=low)
            for z in small
        ]
        if not small:
            parts += [
                tr(
                    N_(
                        "{zone} ({n} households) cannot be grouped into {low}–{high} household grids "
                        "on its own"
                    )
                ).format(zone=_zone_name(z, tr), n=int(size[z]), low=low, high=high)
                for z in stuck[:1]
            ]
        names = ", ".join(z.split(":", 1)[-1] for z in zones)
        out[g] = names, tr(N_("crosses a compound edge: {why}")).format(why="; ".join(parts))
    return out


def _drop_slivers(geom: shapely.Geometry) -> shapely.Geometry:
    """Remove sub-millimetre slivers that snap-rounding left as separate parts."""
    parts = shapely.get_parts(geom)
    if len(parts) <= 1:
        return geom
    keep = [p for p in parts if p.area > 1e-6]
    return shapely.union_all(keep) if keep else geom


def _patches(
    grids: gpd.GeoDataFrame, *, rules: RuleSet, neighbours: list[set[int]] | None = None
) -> dict[str, object]:
    """Group whole grids into contiguous worker patches of about ``patch_households``."""
    total = float(grids["households"].sum())
    size = rules.patch_households
    k = max(1, math.ceil(total / size)) if total > 0 else 1
    target = total / k if total > 0 else size
    geoms = grids.geometry.values
    nb = neighbours if neighbours is not None else rook_neighbours(geoms)
    cent = shapely.centroid(geoms)
    weights = grids["households"].to_numpy(dtype=float)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    labels = partition(weights, x, y, nb, low=target * 0.6, high=target * 1.4, target=target)
    labels = exactly_k(labels, k, weights, x, y, nb)
    prefix = str(grids["grid_code"].iloc[0])[:12] if len(grids) else "0" * 12
    patch_ids = [f"{prefix}P{int(label) + 1:02d}" for label in labels]
    patch_of = dict(zip(grids["grid_code"], patch_ids, strict=True))
    frame = gpd.GeoDataFrame(
        {
            "patch_id": patch_ids,
            "households": weights,
            "community_id": grids["community_id"].to_numpy(),
        },
        geometry=geoms,
        crs=grids.crs,
    )
    patches = frame.dissolve(
        "patch_id", aggfunc={"households": "sum", "community_id": "first"}
    ).reset_index()
    patches["n_grids"] = pd.Series(patch_ids).value_counts().reindex(patches["patch_id"]).to_numpy()
    return {"patch_of": patch_of, "patches": patches}


def stable_codes(
    new: gpd.GeoDataFrame, previous: gpd.GeoDataFrame, *, keep_share: float = 0.8
) -> tuple[list[str], pd.DataFrame]:
    """Give new grids the codes of the previous grids they barely changed from.

    A new grid keeps an old code when each covers at least ``keep_share`` of the other;
    the others are numbered after the highest old sequence, north→south, west→east.
    Returns the codes (aligned to ``new``) and the old→new crosswalk.
    """
    walk = crosswalk(previous, new, keep_share=keep_share)
    codes = new["grid_code"].tolist()
    used: set[str] = set()
    for i, row in walk.iterrows():
        if row["kept"] and row["old_code"] not in used:
            codes[i] = row["old_code"]
            used.add(row["old_code"])
        else:
            codes[i] = None
    prefix = str(new["grid_code"].iloc[0])[:12] if len(new) else ""
    old_same = previous["grid_code"].astype(str)
    old_same = old_same[old_same.str[:12] == prefix]
    next_seq = int(old_same.str[12:].astype(int).max()) + 1 if len(old_same) else 1
    for i in range(len(codes)):  # new grids in the order of their fresh codes
        if codes[i] is None:
            codes[i] = f"{prefix}{next_seq:03d}"
            next_seq += 1
    walk["new_code"] = codes
    walk.loc[~walk["kept"], "old_code"] = walk.loc[~walk["kept"], "old_code"]
    return codes, walk


def crosswalk(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, keep_share: float = 0.8
) -> pd.DataFrame:
    """Map old grid codes to new ones by overlap; a new grid that mostly is an old one keeps its code.

    Returns a table ``old_code``, ``new_code``, ``overlap_share`` (of the new grid's area)
    and ``kept`` (whether the new grid took the old code).
    """
    old_m = old.to_crs(new.crs)
    rows = []
    for i, geom in enumerate(new.geometry.values):
        overlaps = shapely.area(shapely.intersection(geom, old_m.geometry.values))
        j = int(np.argmax(overlaps)) if len(overlaps) else -1
        share = float(overlaps[j] / max(geom.area, 1e-9)) if j >= 0 else 0.0
        back = float(overlaps[j] / max(old_m.geometry.values[j].area, 1e-9)) if j >= 0 else 0.0
        rows.append(
            {
                "old_code": old_m["grid_code"].iloc[j] if j >= 0 else None,
                "new_code": new["grid_code"].iloc[i],
                "overlap_share": round(min(share, back), 4),
                "kept": min(share, back) >= keep_share,
            }
        )
    return pd.DataFrame(rows)
