"""Distances to the service centres on the district sample (its centres are placed, one per
community), checked against a plain loop over the buildings."""

from __future__ import annotations

import numpy as np
import pytest

from gis import datasets
from gis.crs import to_metric
from planning.communities import load
from planning.compare import mean_distance_to_centres


def test_mean_distance_to_centres_on_the_district_sample():
    loaded = load(datasets.get_path("beijing_district"))
    got = mean_distance_to_centres(loaded.buildings, loaded.project.service_centres)
    b = to_metric(loaded.buildings)
    c = loaded.project.service_centres.to_crs(b.crs).set_index("community_id")
    assert sorted(got.index) == sorted(c.index)
    for community, group in b.groupby("community_id"):
        centre = c.geometry[community]
        d = np.array([p.distance(centre) for p in group.geometry.representative_point()])
        w = group["households"].to_numpy(float)
        assert got[community] == pytest.approx((d * w).sum() / w.sum(), abs=0.1)
        assert 0 < got[community] < 1_500  # a walk within the community
