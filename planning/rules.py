"""Rule sets: every planning number as data, with the published source it comes from.

A :class:`RuleSet` is frozen: the app and the CLI pass it down explicitly (no global
settings), and a planner edits a copy with :meth:`RuleSet.with_values`, which also drops the
citation of every number it changes (``dataclasses.replace`` would keep the old citations).
Presets are named after the city whose published guidance they encode.

Sources
-------
- Kunming 2024: guidance on setting urban communities — a normal community has at least
  3,000 households; more than 5,000 households may be split; 50,000 or more residents must be.
- Gaoping (Shanxi) 2024: basic grids of 30–50 households, seamless coverage.
- Ningbo 2013: one community worker per 250 households; working funds 280,000 yuan per
  1,000 households a year; service space at least 40 m² per 100 households.
- Shanghai Baoshan: a social worker's patch (片区) of about 350 households.
- GB/T 50180-2018 (Standard for urban residential area planning and design): the 5-, 10- and
  15-minute life circles reach 300, 500 and 800–1,000 m on foot.
- GB 50096-2011 (Design code for residential buildings) §5.1.1: the smallest dwelling has
  at least 22 m² of usable floor area.

Examples
--------
>>> rules = get_preset("default")
>>> rules.split_households, rules.grid_max_households, rules.households_per_worker
(5000, 50, 250)
>>> print(rules.cite("households_per_worker"))
Ningbo 2013: 1 community worker per 250 households
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from gis.errors import RulesError
from gis.i18n import N_

__all__ = [
    "BOUNDARY_CLASSES",
    "PRESETS",
    "Citation",
    "RuleSet",
    "get_preset",
    "load_rules",
    "preset_names",
    "save_rules",
]


BOUNDARY_CLASSES: tuple[str, ...] = (
    "street",
    "railway",
    "river",
    "wall",
    "service_road",
    "path",
)
"""What a split's new boundary may follow, in order of precedence; each has a rule
``boundary_weight_<class>`` (a boundary near two counts as the first)."""


@dataclass(frozen=True)
class Citation:
    """Where a rule's number comes from."""

    rule: str
    source: str
    statement: str

    def __str__(self) -> str:
        return f"{self.source}: {self.statement}"

    def render(self, lang: str = "en") -> str:
        """``"source: statement"`` in ``lang`` (the catalog carries every preset's citation).

        Examples
        --------
        >>> c = get_preset().citations[0]
        >>> c.render("en")
        'Kunming 2024: a normal urban community has at least 3,000 households'
        >>> c.render("zh_CN").startswith("昆明")
        True
        """
        from gis.i18n import translator

        tr = translator(lang).gettext
        return f"{tr(self.source)}: {tr(self.statement)}"


_KUNMING = N_("Kunming 2024")
_GAOPING = N_("Gaoping 2024")
_NINGBO = N_("Ningbo 2013")
_BAOSHAN = N_("Shanghai Baoshan")
_ASSUMED = N_("gridplan assumption")
_GBT50180 = N_("GB/T 50180-2018")
_GB50096 = N_("GB 50096-2011 §5.1.1")

_DEFAULT_CITATIONS: tuple[Citation, ...] = (
    Citation("min_households", _KUNMING, N_("a normal urban community has at least 3,000 households")),
    Citation(
        "split_households", _KUNMING, N_("a community of more than 5,000 households may be split"),
    ),
    Citation(
        "must_split_residents", _KUNMING, N_("a community of 50,000 or more residents must be split"),
    ),
    Citation("grid_min_households", _GAOPING, N_("a basic grid holds 30–50 households")),
    Citation("grid_max_households", _GAOPING, N_("a basic grid holds 30–50 households")),
    Citation(
        "grid_whole_building_households",
        _ASSUMED,
        N_("a building of at most 50 households (a grid's maximum) is never divided between grids: "
        "a grid worker is responsible for whole buildings and stairwells (单元); a larger one is "
        "divided by whole units first"),
    ),
    Citation(
        "grid_whole_unit_households",
        _ASSUMED,
        N_("a unit (单元) of at most 50 households is never divided by floor range; only a unit that "
        "alone exceeds a grid's maximum is"),
    ),
    Citation(
        "dedicated_grid_min_area_m2",
        _GAOPING,
        N_("special-purpose grids (专属网格) for enterprises, schools and other large units; land "
        "without households of at least 50,000 m² (5 ha; a gridplan assumption) becomes one"),
    ),
    Citation(
        "dedicated_land_use_min_area_m2",
        _GAOPING,
        N_("special-purpose grids (专属网格) for enterprises, schools and other large units; a "
        "campus, school, hospital, enterprise or park the layers name, of at least 10,000 m² "
        "(1 ha; a gridplan assumption), becomes one of its kind"),
    ),
    Citation(
        "grid_max_area_m2",
        _ASSUMED,
        N_("a household grid of at most 200,000 m² (20 ha) can be walked by one grid worker; empty "
        "land is shared so that no grid exceeds it where the layout allows"),
    ),
    Citation("households_per_worker", _NINGBO, N_("1 community worker per 250 households")),
    Citation(
        "funds_yuan_per_1000_households",
        _NINGBO,
        N_("working funds of 280,000 yuan per 1,000 households a year"),
    ),
    Citation(
        "service_space_m2_per_100_households",
        _NINGBO,
        N_("service space of at least 40 m² per 100 households"),
    ),
    Citation("patch_households", _NINGBO, N_("one worker's patch (片区) per 250 households")),
    Citation(
        "area_per_dwelling_m2",
        _ASSUMED,
        N_("90 m² gross floor area per dwelling (≈ 36–40 m² per person × 2.6 persons)"),
    ),
    Citation(
        "default_floors",
        _ASSUMED,
        N_("6 storeys assumed for a residential building with no height (a walk-up)"),
    ),
    Citation("storey_height_m", _ASSUMED, N_("3 m per storey to turn a height into floors")),
    Citation(
        "persons_per_household", N_("7th national census 2020"), N_("2.62 persons per household on average"),
    ),
    Citation(
        "special_service_weight",
        _ASSUMED,
        N_("special-service households count once (1.0) unless a city says more"),
    ),
    Citation("walk_5min_m", _GBT50180, N_("the 5-minute life circle reaches 300 m on foot")),
    Citation("walk_10min_m", _GBT50180, N_("the 10-minute life circle reaches 500 m on foot")),
    Citation("walk_15min_m", _GBT50180, N_("the 15-minute life circle reaches 800–1,000 m on foot")),
    Citation(
        "aligned_share",
        _ASSUMED,
        N_("a grid is aligned with another grid system when 0.9 of its area lies in one unit"),
    ),
    Citation(
        "boundary_tolerance_m",
        _ASSUMED,
        N_("two systems' boundaries coincide within 5 m (a road's half width; digitising error)"),
    ),
    Citation(
        "overlap_sliver_share",
        _ASSUMED,
        N_("an overlap under 0.01 of a grid's area is a digitising sliver, not a real overlap"),
    ),
    Citation(
        "plausible_households_per_building",
        _ASSUMED,
        N_("one tower holds 100–300 households (DOMAIN); a building of more than 1,000 "
        "households is far beyond it, more often an area drawn as one building (Singapore's "
        "largest public-housing block has 584 dwellings)"),
    ),
    Citation(
        "plausible_households_per_floor",
        _ASSUMED,
        N_("a stair or lift core (单元) serves at most 8 households a floor (一梯八户) and a "
        "building rarely has more than 4 cores: more than 32 households a floor is implausible "
        "(12 of Singapore's 10,642 public-housing blocks exceed it, none by half)"),
    ),
    Citation(
        "plausible_floor_area_per_household_m2",
        _GB50096,
        N_("the smallest dwelling has at least 22 m² of floor area (usable, so gross is more)"),
    ),
    Citation(
        "max_plausible_floors",
        _ASSUMED,
        N_("no residential building in China has 100 storeys: where a building's floors are "
        "unknown, a given count needing more (at 22 m² a household) is implausible"),
    ),
    Citation(
        "community_sliver_max_m2",
        _ASSUMED,
        N_("overlaps and gaps between communities up to 1000 m² (1 km of boundary 1 m off) are "
        "digitising slivers, repaired and reported"),
    ),
    Citation(
        "duplicate_footprint_share",
        _ASSUMED,
        N_("two footprints sharing 0.95 of their union are one building drawn twice"),
    ),
    Citation(
        "official_households_tolerance",
        _ASSUMED,
        N_("an official household count and the buildings' sum that differ by more than 0.1 "
        "(10 %) are flagged"),
    ),
    Citation(
        "patch_tolerance",
        _ASSUMED,
        N_("a worker's patch more than 0.4 (40 %) above or below its share of the community's "
        "households is flagged: the grid engine groups patches within the same band"),
    ),
    Citation(
        "boundary_weight_street",
        _GAOPING,
        N_("clear boundaries (界限清晰): a new boundary along a street counts in full (1.0)"),
    ),
    Citation(
        "boundary_weight_railway",
        _GAOPING,
        N_("clear boundaries (界限清晰): a new boundary along a railway counts in full (1.0)"),
    ),
    Citation(
        "boundary_weight_river",
        _GAOPING,
        N_("clear boundaries (界限清晰): a new boundary along a river counts in full (1.0)"),
    ),
    Citation(
        "boundary_weight_wall",
        _GAOPING,
        N_("clear boundaries (界限清晰): a new boundary along a compound wall counts in full (1.0)"),
    ),
    Citation(
        "boundary_weight_service_road",
        _ASSUMED,
        N_("a service or campus road is a boundary residents see but do not name: it counts 0.5 "
        "of a street"),
    ),
    Citation(
        "boundary_weight_path",
        _ASSUMED,
        N_("a footway, cycleway or path through a campus or park is no boundary residents "
        "recognise: it counts 0.25 of a street"),
    ),
)


@dataclass(frozen=True)
class RuleSet:
    """The numbers gridplan plans with, each with a citation.

    Parameters
    ----------
    name
        Short preset key (``default``, ``kunming``, …).
    title
        A human title for the preset.
    min_households
        Below this a community is ``small``.
    split_households
        Above this a community ``may_split``.
    must_split_residents
        At or above this many residents a community ``must_split``.
    grid_min_households, grid_max_households
        The households band of a basic grid.
    grid_whole_building_households
        A building of at most this many households is never divided between grids (0: any
        building may be divided by unit where the band needs it; the reasons then say so).
    grid_whole_unit_households
        A unit (单元) of at most this many households is never divided by floor range (0:
        any unit may be, where the band needs it).
    dedicated_grid_min_area_m2
        Land without households (a campus, hospital, enterprise, park) of at least this
        area becomes a dedicated grid (专属网格) of its own.
    dedicated_land_use_min_area_m2
        A campus, school, hospital, enterprise or park named by the layers' land use
        (:mod:`planning.landuse`) of at least this area becomes a dedicated grid of its kind.
    grid_max_area_m2
        Empty land is shared among household grids so that none exceeds this area where
        the layout allows.
    households_per_worker
        Households served by one community worker.
    funds_yuan_per_1000_households
        Working funds per 1,000 households a year.
    service_space_m2_per_100_households
        Service space per 100 households.
    patch_households
        Households in one worker's patch (片区).
    area_per_dwelling_m2
        Gross floor area per dwelling, to estimate households from footprints.
    default_floors
        Storeys assumed for a residential building with no height data.
    storey_height_m
        Metres per storey, to turn a height into floors.
    persons_per_household
        Residents per household where residents are not given.
    special_service_weight
        How many households one special-service household counts as in a grid's workload
        (1.0 = no extra weight).
    walk_5min_m, walk_10min_m, walk_15min_m
        Walking distances of the 5-, 10- and 15-minute life circles (GB/T 50180-2018).
    aligned_share
        Share of a grid's area inside one unit of another grid system for the grid to
        count as aligned with that system.
    boundary_tolerance_m
        How close (m) a grid boundary must run to another system's boundary to coincide.
    overlap_sliver_share
        Overlaps smaller than this share of a grid's area are slivers and not reported.
    plausible_households_per_building
        A building with more households than this is flagged (``implausible_building``):
        often a compound or campus mapped as one footprint.
    plausible_households_per_floor
        A building with more households per floor than this is flagged.
    plausible_floor_area_per_household_m2
        A building whose floor area (footprint × floors) gives a household less than this
        is flagged.
    max_plausible_floors
        Where a building's floors are unknown, a count needing more storeys than this (at
        the smallest dwelling) is implausible.
    community_sliver_max_m2
        Overlaps and gaps between communities up to this area are repaired and reported.
    duplicate_footprint_share
        Two buildings overlapping by this share of their union are one building drawn twice.
    official_households_tolerance
        A community's official household count and its buildings' sum differing by more
        than this share are flagged.
    patch_tolerance
        A worker's patch whose households differ from its target by more than this share
        is flagged (after hand edits of its grids).
    boundary_weight_street, boundary_weight_railway, boundary_weight_river, boundary_weight_wall
        How much a metre of a split's new boundary counts when it runs along a street, a
        railway, a river or a compound wall (between 0 and 1).
    boundary_weight_service_road, boundary_weight_path
        The same along a service or campus road, and along a footway, cycleway or path:
        less than a street, so a split follows streets before it zigzags along campus paths.
    citations
        Where each number comes from.
    """

    name: str = "default"
    title: str = N_("Kunming 2024 sizes, Gaoping 2024 grids, Ningbo 2013 staffing")
    min_households: int = 3000
    split_households: int = 5000
    must_split_residents: int = 50000
    grid_min_households: int = 30
    grid_max_households: int = 50
    grid_whole_building_households: int = 50
    grid_whole_unit_households: int = 50
    dedicated_grid_min_area_m2: float = 50_000.0
    dedicated_land_use_min_area_m2: float = 10_000.0
    grid_max_area_m2: float = 200_000.0
    households_per_worker: int = 250
    funds_yuan_per_1000_households: float = 280_000.0
    service_space_m2_per_100_households: float = 40.0
    patch_households: int = 250
    area_per_dwelling_m2: float = 90.0
    default_floors: int = 6
    storey_height_m: float = 3.0
    special_service_weight: float = 1.0
    persons_per_household: float = 2.62
    walk_5min_m: float = 300.0
    walk_10min_m: float = 500.0
    walk_15min_m: float = 1000.0
    aligned_share: float = 0.9
    boundary_tolerance_m: float = 5.0
    overlap_sliver_share: float = 0.01
    plausible_households_per_building: int = 1000
    plausible_households_per_floor: float = 32.0
    plausible_floor_area_per_household_m2: float = 22.0
    max_plausible_floors: int = 100
    community_sliver_max_m2: float = 1000.0
    duplicate_footprint_share: float = 0.95
    official_households_tolerance: float = 0.1
    patch_tolerance: float = 0.4
    boundary_weight_street: float = 1.0
    boundary_weight_railway: float = 1.0
    boundary_weight_river: float = 1.0
    boundary_weight_wall: float = 1.0
    boundary_weight_service_road: float = 0.5
    boundary_weight_path: float = 0.25
    citations: tuple[Citation, ...] = field(default=_DEFAULT_CITATIONS, compare=False)

    def __post_init__(self) -> None:
        _check_values(self)
        for name in _NUMBERS:  # NumPy scalars (from pandas or a data editor) → plain numbers
            value = getattr(self, name)
            if isinstance(value, np.generic):
                object.__setattr__(self, name, value.item())

    # -- numbers -------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Return the editable numbers (everything but the citations) as a dict."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "citations"
        }

    def with_values(self, **values: Any) -> RuleSet:
        """Return a copy with some numbers changed; unknown keys are rejected.

        A changed number no longer cites its published source: :meth:`cite` says the
        planner set it.

        Examples
        --------
        >>> edited = get_preset("default").with_values(households_per_worker=300)
        >>> edited.households_per_worker
        300
        >>> print(edited.cite("households_per_worker"))
        households_per_worker = 300 (set by the planner)
        """
        _check_keys(values)
        changed = {key for key, value in values.items() if getattr(self, key) != value}
        citations = tuple(c for c in self.citations if c.rule not in changed)
        return dataclasses.replace(self, citations=citations, **values)

    def boundary_weights(self) -> np.ndarray:
        """The ``boundary_weight_*`` rules in the order of :data:`BOUNDARY_CLASSES`.

        Examples
        --------
        >>> get_preset().boundary_weights().tolist()
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
        """
        return np.array([float(getattr(self, f"boundary_weight_{c}")) for c in BOUNDARY_CLASSES])

    def cite(self, rule: str, *, lang: str = "en") -> str:
        """Return ``"source: statement"`` for one rule in ``lang``, or a note that it was edited.

        Examples
        --------
        >>> get_preset().with_values(households_per_worker=200).cite("households_per_worker")
        'households_per_worker = 200 (set by the planner)'
        """
        for citation in self.citations:
            if citation.rule == rule:
                return citation.render(lang)
        from gis.i18n import translator

        return translator(lang).gettext(N_("{rule} = {value} (set by the planner)")).format(
            rule=rule, value=getattr(self, rule)
        )

    def sources(self, *, lang: str = "en") -> list[dict[str, str]]:
        """Return one row per rule: the rule, its value and its source (in ``lang``), for reports."""
        return [
            {"rule": f, "value": str(v), "source": self.cite(f, lang=lang)}
            for f, v in self.values().items()
            if f not in {"name", "title"}
        ]


def _check_keys(values: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(RuleSet)} - {"citations"}
    unknown = sorted(set(values) - known)
    if unknown:
        msg = N_(
            "Unknown rule {keys}. Known rules are: {known}. Check the spelling in the rule file."
        )
        raise RulesError(msg, keys=", ".join(unknown), known=", ".join(sorted(known)))


_POSITIVE = (
    "min_households",
    "split_households",
    "must_split_residents",
    "grid_min_households",
    "grid_max_households",
    "households_per_worker",
    "patch_households",
    "area_per_dwelling_m2",
    "default_floors",
    "storey_height_m",
    "persons_per_household",
    "walk_5min_m",
    "walk_10min_m",
    "walk_15min_m",
    "aligned_share",
    "boundary_tolerance_m",
    "plausible_households_per_building",
    "plausible_households_per_floor",
    "plausible_floor_area_per_household_m2",
    "max_plausible_floors",
    "duplicate_footprint_share",
)


_NUMBERS = (
    *_POSITIVE,
    "grid_whole_building_households",
    "grid_whole_unit_households",
    "dedicated_grid_min_area_m2",
    "dedicated_land_use_min_area_m2",
    "grid_max_area_m2",
    "funds_yuan_per_1000_households",
    "service_space_m2_per_100_households",
    "special_service_weight",
    "overlap_sliver_share",
    "community_sliver_max_m2",
    "official_households_tolerance",
    "patch_tolerance",
    *(f"boundary_weight_{c}" for c in BOUNDARY_CLASSES),
)


def _check_values(rules: RuleSet) -> None:
    for name in _NUMBERS:
        value = getattr(rules, name)
        if (
            isinstance(value, bool | np.bool_)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            msg = N_("Rule {rule} must be a number, not {value!r}.")
            raise RulesError(msg, rule=name, value=value)
        if name in _POSITIVE and value <= 0:
            msg = N_("Rule {rule} must be greater than 0 (it is {value}).")
            raise RulesError(msg, rule=name, value=value)
        if value < 0:
            msg = N_("Rule {rule} cannot be negative (it is {value}).")
            raise RulesError(msg, rule=name, value=value)
    if rules.grid_min_households > rules.grid_max_households:
        msg = N_(
            "The grid band is empty: grid_min_households ({low}) is larger than "
            "grid_max_households ({high}). Make the minimum smaller than the maximum."
        )
        raise RulesError(msg, low=rules.grid_min_households, high=rules.grid_max_households)
    if rules.min_households > rules.split_households:
        msg = N_(
            "min_households ({low}) is larger than split_households ({high}): no community "
            "could be the right size. Make the normal minimum smaller than the split threshold."
        )
        raise RulesError(msg, low=rules.min_households, high=rules.split_households)
    if not rules.walk_5min_m <= rules.walk_10min_m <= rules.walk_15min_m:
        msg = N_(
            "The life-circle distances must grow: walk_5min_m ({a}) ≤ walk_10min_m ({b}) ≤ "
            "walk_15min_m ({c}). Correct them in the rule file."
        )
        raise RulesError(msg, a=rules.walk_5min_m, b=rules.walk_10min_m, c=rules.walk_15min_m)
    for name in ("aligned_share", "overlap_sliver_share", "duplicate_footprint_share"):
        if getattr(rules, name) > 1:
            msg = N_("Rule {rule} is a share and must be at most 1 (it is {value}).")
            raise RulesError(msg, rule=name, value=getattr(rules, name))
    for name in (f"boundary_weight_{c}" for c in BOUNDARY_CLASSES):
        if getattr(rules, name) > 1:
            msg = N_("Rule {rule} is a weight from 0 to 1 (it is {value}).")
            raise RulesError(msg, rule=name, value=getattr(rules, name))
    if not rules.special_service_weight >= 1:
        msg = N_("Rule special_service_weight must be at least 1 (it is {value}).")
        raise RulesError(msg, value=rules.special_service_weight)


def _preset(name: str, title: str, changes: dict[str, Any], extra: tuple[Citation, ...]) -> RuleSet:
    replaced = {c.rule for c in extra}
    citations = tuple(c for c in _DEFAULT_CITATIONS if c.rule not in replaced) + extra
    return RuleSet(name=name, title=title, citations=citations, **changes)


PRESETS: dict[str, RuleSet] = {
    "default": RuleSet(),
    "kunming": _preset(
        "kunming",
        N_("Kunming 2024 (sizes), with Gaoping grids and Ningbo staffing"),
        {},
        (),
    ),
    "baoshan": _preset(
        "baoshan",
        N_("Shanghai Baoshan patches of ~350 households"),
        {"patch_households": 350},
        (
            Citation(
                "patch_households", _BAOSHAN, N_("a social worker's patch of about 350 households"),
    ),
        ),
    ),
    "ningbo": _preset(
        "ningbo",
        N_("Ningbo 2013 staffing with a 300-household worker (stretched staffing scenario)"),
        {"households_per_worker": 300},
        (
            Citation(
                "households_per_worker",
                _NINGBO,
                N_("1 worker per 250 households is the standard; 300 is a stretched scenario"),
            ),
        ),
    ),
}
"""Named presets. Treat as read-only: use :func:`get_preset`, which returns the frozen object."""


def preset_names() -> list[str]:
    """Return the names of the shipped presets."""
    return list(PRESETS)


def get_preset(name: str = "default") -> RuleSet:
    """Return a shipped preset by name.

    Raises
    ------
    RulesError
        If there is no preset of that name.
    """
    try:
        return PRESETS[name]
    except KeyError:
        msg = N_("There is no rule preset called {name!r}. Choose one of: {names}.")
        raise RulesError(msg, name=name, names=", ".join(PRESETS)) from None


def load_rules(path: str | Path) -> RuleSet:
    """Read a rule set from a TOML file.

    The file may name a ``preset`` to start from and override any number; unknown keys
    and impossible values are rejected with a message.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "rules.toml"
    >>> _ = p.write_text('preset = "default"\\nhouseholds_per_worker = 200\\n', encoding="utf-8")
    >>> load_rules(p).households_per_worker
    200
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = N_("The rule file {path} does not exist.")
        raise RulesError(msg, path=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = N_("The rule file {path} is not valid TOML ({error}). Save it as UTF-8 TOML.")
        raise RulesError(msg, path=str(path), error=str(exc)) from None
    data.pop("citations", None)
    name = data.get("name")
    start = name if isinstance(name, str) and name in PRESETS else "default"
    base = get_preset(str(data.pop("preset", start)))
    return base.with_values(**data)


def save_rules(rules: RuleSet, path: str | Path) -> Path:
    """Write ``rules`` as TOML that :func:`load_rules` reads back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_rules(get_preset("baoshan"), pathlib.Path(tempfile.mkdtemp()) / "r.toml")
    >>> load_rules(p) == get_preset("baoshan")
    True
    """
    path = Path(path)
    base = rules.name if rules.name in PRESETS else "default"
    text = "# gridplan rule set; sources: see `gridplan rules` or the app's rules table\n"
    text += tomli_w.dumps({"preset": base, **rules.values()})
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
