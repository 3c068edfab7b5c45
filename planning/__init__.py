"""gridplan's planning layer: rules, staffing, threshold checks and the engines.

================  ============================================================
``rules``         frozen rule sets with cited sources; presets; TOML
``staffing``      required staff, shortfall, ratios, funds, space, grid counts
``thresholds``    ok / small / may_split / must_split, with cited reasons
``households``    households from data, rosters or a stated estimate
``communities``   buildings → communities; ``load`` a project ready to plan
================  ============================================================
"""

from planning import communities, households, rules, staffing, thresholds

__all__ = ["communities", "households", "rules", "staffing", "thresholds"]
