"""Old path of :mod:`gis.users`, kept for scripts."""

from gis.users import *  # noqa: F403 - every public name of gis.users, as its __all__ lists them
from gis.users import __all__  # noqa: F401
