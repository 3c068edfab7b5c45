"""Old path of :mod:`gis.store.postgis`, kept for scripts."""

from gis.store.postgis import PlanDatabaseError, PostGISPlanStore, database_url

__all__ = ["PlanDatabaseError", "PostGISPlanStore", "database_url"]
