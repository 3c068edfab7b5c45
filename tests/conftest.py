"""Shared fixtures: the bundled samples, a loaded Beijing plan, seeded randomness."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from gis import datasets

# CI draws the same examples on every run (a red run is then a change, not luck); "dev"
# draws new ones each time, to look for more.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def beijing_path():
    return datasets.get_path("beijing")


@pytest.fixture(scope="session")
def shanghai_path():
    return datasets.get_path("shanghai")


@pytest.fixture(scope="session")
def beijing_loaded(beijing_path):
    from planning.communities import load

    return load(beijing_path)


@pytest.fixture
def rng():
    return np.random.default_rng(2018)
