"""Old path of :mod:`gis.store.files` and :func:`gis.store.read_plan`, kept for scripts."""

from gis.store.files import atomic_path, write_plan
from gis.store.gpkg import read_plan

__all__ = ["atomic_path", "read_plan", "write_plan"]
