"""gridplan's planning layer: rules, staffing, threshold checks and the engines.

================  ============================================================
``rules``         frozen rule sets with cited sources; presets; TOML
``staffing``      required staff, shortfall, ratios, funds, space, grid counts
``thresholds``    ok / small / may_split / must_split, with cited reasons
``households``    households from data, rosters or a stated estimate
``communities``   buildings → communities; ``load`` a project ready to plan
``territory``     building territories bounded by roads, rivers, walls, compounds
``partition``     the shared core: connected, balanced groups of weighted atoms
``grids``         30–50 household grids, towers by unit and floor, patches, codes
``split``         ranked splits of oversized communities, lineage, bootstrapping
``manual``        a boundary drawn by hand, snapped to blocks and compounds
``edit``          hand edits of grids (move, merge, split, lock, assign), re-runs with locks
``existing``      a city's existing grid layer imported and audited against the rules
``compare``       service ratios before and after
``access``        walking distance to the service centre along the roads; site search
``overlap``       the audit against another grid system (多网合一); snap to it
``growth``        deliveries added year by year: status, staff, grids that overflow
``batch``         a whole city, community by community (joblib, dask), resumable
================  ============================================================
"""

from planning import communities, households, rules, staffing, thresholds

__all__ = [
    "access",
    "batch",
    "communities",
    "compare",
    "edit",
    "existing",
    "grids",
    "growth",
    "households",
    "manual",
    "overlap",
    "partition",
    "rules",
    "split",
    "staffing",
    "territory",
    "thresholds",
]

_LAZY = {
    "access",
    "batch",
    "compare",
    "edit",
    "existing",
    "grids",
    "growth",
    "manual",
    "overlap",
    "partition",
    "split",
    "territory",
}


def __getattr__(name: str) -> object:
    # the engines pull in momepy and friends: imported on first use
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"planning.{name}")
    raise AttributeError(name)
