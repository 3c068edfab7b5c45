"""Imagery base maps beside the vector ones: Tianditu imagery with labels, AMap satellite."""

from __future__ import annotations

from ui.maps import _tiles, attribution
from ui.session import BASEMAPS, Basemap


def _urls(layers):
    return [(layer.tiles, layer.overlay) for layer in layers]


def test_tianditu_imagery_with_labels():
    layers = _urls(_tiles(Basemap(kind="tianditu_imagery", tk="KEY123")))
    assert len(layers) == 2
    (img, img_overlay), (labels, labels_overlay) = layers
    assert "img_w" in img and "LAYER=img" in img and "tk=KEY123" in img and not img_overlay
    assert "cia_w" in labels and "LAYER=cia" in labels and labels_overlay
    assert _tiles(Basemap(kind="tianditu_imagery", tk="")) == []  # no key, no tiles
    assert Basemap(kind="tianditu_imagery").needs_key and not Basemap(kind="tianditu_imagery").gcj02


def test_amap_satellite_is_gcj02():
    layers = _urls(_tiles(Basemap(kind="amap_satellite")))
    (sat, sat_overlay), (labels, labels_overlay) = layers
    assert "style=6" in sat and not sat_overlay
    assert "style=8" in labels and labels_overlay
    assert Basemap(kind="amap_satellite").gcj02  # layers are shifted to match, as for AMap
    assert attribution(Basemap(kind="amap_satellite")) == "© 高德地图 AMap"


def test_every_choice_has_tiles_or_says_why_not():
    for kind in BASEMAPS:
        layers = _tiles(Basemap(kind=kind, tk="k", url="https://t/{z}/{x}/{y}.png"))
        assert (layers == []) == (kind == "none"), kind
