"""CAD drawings in: DXF written by ezdxf, read back into gridplan's layers."""

from __future__ import annotations

import ezdxf
import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gis.cad import CadSettings, DxfLayer, parse_label, parse_layer_map, read_dxf, write_dxf
from gis.errors import CRSError, FieldError, LayerReadError
from gis.io import read_layer, read_project

GK = "EPSG:4548"  # CGCS2000 3° Gauss–Krüger, central meridian 117°E (Beijing)


@pytest.fixture(scope="module")
def beijing_buildings(beijing_path):
    """Forty real building outlines of the Beijing sample, in Gauss–Krüger metres."""
    b = gpd.read_file(beijing_path, layer="buildings").to_crs(GK).explode(ignore_index=True)
    b = b[b.geometry.interiors.map(len) == 0].head(40).reset_index(drop=True)
    rng = np.random.default_rng(7)
    b["households"] = rng.integers(6, 300, len(b))
    b["floors"] = rng.integers(2, 33, len(b))
    b["label"] = [f"{i + 1}号楼" for i in range(len(b))]
    return b


def _drawing(buildings, tmp_path, *, version="R2013", extra=None):
    """A site plan as a drafter draws it: outlines, labels on their own layer, a boundary."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    for name in ("建筑", "文字", "社区边界"):
        doc.layers.add(name)
    for i, row in buildings.iterrows():
        ring = list(row.geometry.exterior.coords)[:-1]
        msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": "建筑"})
        p = row.geometry.representative_point()
        style = i % 3
        if style == 0:  # one TEXT with everything
            msp.add_text(
                f"{row.label} {row.floors}F {row.households}户",
                dxfattribs={"layer": "文字", "insert": (p.x, p.y), "height": 1.5},
            )
        elif style == 1:  # an MTEXT on two lines
            m = msp.add_mtext(
                f"{row.label}\\P地上{row.floors}层/地下1层", dxfattribs={"layer": "文字"}
            )
            m.set_location((p.x, p.y))
            msp.add_text(
                f"{row.households}户", dxfattribs={"layer": "文字", "insert": (p.x, p.y - 0.5)}
            )
        else:  # separate labels
            msp.add_text(row.label, dxfattribs={"layer": "文字", "insert": (p.x, p.y)})
            msp.add_text(f"{row.floors}层", dxfattribs={"layer": "文字", "insert": (p.x, p.y)})
            msp.add_text(f"户数：{row.households}", dxfattribs={"layer": "文字", "insert": (p.x, p.y)})
    hull = shapely.unary_union(buildings.geometry.values).convex_hull.buffer(30)
    msp.add_lwpolyline(
        list(hull.exterior.coords)[:-1], close=True, dxfattribs={"layer": "社区边界"}
    )
    c = hull.representative_point()
    msp.add_text("荷清苑社区", dxfattribs={"layer": "文字", "insert": (c.x, c.y), "height": 8})
    if extra is not None:
        extra(doc, msp)
    path = tmp_path / "site.dxf"
    doc.saveas(path)
    return path


def test_round_trip_households_names_floors(beijing_buildings, tmp_path):
    path = _drawing(beijing_buildings, tmp_path)
    project = read_project(path, crs=GK, layer_map="建筑=buildings,社区边界=communities")
    got = project.buildings.to_crs(GK)
    assert len(got) == len(beijing_buildings)
    assert project.buildings.crs.to_epsg() == 4490
    # Match each read outline to the drawn one it lies on.
    idx = [
        int(np.argmax(beijing_buildings.geometry.intersection(g).area.to_numpy())) for g in got.geometry
    ]
    drawn = beijing_buildings.iloc[idx].reset_index(drop=True)
    assert sorted(idx) == list(range(len(beijing_buildings)))
    assert got["households"].astype(int).tolist() == drawn["households"].tolist()
    assert got["floors"].astype(int).tolist() == drawn["floors"].tolist()
    assert got["name"].tolist() == drawn["label"].tolist()
    # Shapes come back where they were drawn (to the millimetre).
    shift = got.geometry.reset_index(drop=True).hausdorff_distance(drawn.geometry)
    assert shift.max() < 1e-3
    assert project.communities["name"].tolist() == ["荷清苑社区"]
    assert any("建筑 → buildings" in n.render("en") for n in project.notes)


def test_chinese_layer_names_in_an_old_dxf(beijing_buildings, tmp_path):
    # R2000 and older store non-ASCII as \U+XXXX escapes.
    path = _drawing(beijing_buildings.head(6), tmp_path, version="R2000")
    assert "\\U+" in path.read_text(encoding="latin1")
    drawing = read_dxf(path, layer_map="建筑=buildings")
    b = drawing.layers["buildings"]
    assert set(b["cad_layer"]) == {"建筑"}
    assert sorted(b["name"]) == sorted(beijing_buildings.head(6)["label"])


def test_unclosed_outlines_and_stray_labels_are_reported(beijing_buildings, tmp_path):
    def extra(doc, msp):
        # A building whose outline was left open (3 m gap) and a label in the middle of a road.
        x, y = beijing_buildings.total_bounds[2] + 50, beijing_buildings.total_bounds[3]
        msp.add_lwpolyline(
            [(x, y), (x + 20, y), (x + 20, y + 12), (x, y + 12), (x, y + 3)],
            dxfattribs={"layer": "建筑"},
        )
        msp.add_text("99号楼 6F 36户", dxfattribs={"layer": "文字", "insert": (x - 200, y - 200)})

    path = _drawing(beijing_buildings.head(5), tmp_path, extra=extra)
    drawing = read_dxf(path, layer_map="建筑=buildings,社区边界=communities,文字=labels")
    assert len(drawing.layers["buildings"]) == 5
    assert len(drawing.unclosed) == 1
    assert drawing.unclosed["gap"].iloc[0] == pytest.approx(3.0)
    assert drawing.stray_labels["text"].tolist() == ["99号楼 6F 36户"]
    project = read_project(path, crs=GK, layer_map="建筑=buildings,社区边界=communities")
    notes = " ".join(n.render("en") for n in project.notes)
    assert "do not close" in notes and "99号楼 6F 36户" in notes
    zh = " ".join(n.render("zh_CN") for n in project.notes)
    assert "99号楼" in zh


def test_lines_that_close_together_are_joined(tmp_path):
    doc = ezdxf.new("R2013")
    msp = doc.modelspace()
    # An outline drawn as four LINEs (an exploded polyline), one end 1 cm short.
    pts = [(500_000, 4_400_000), (500_030, 4_400_000), (500_030, 4_400_012), (500_000, 4_400_012)]
    for a, b in zip(pts, pts[1:] + pts[:1], strict=True):
        msp.add_line(a, b if b != pts[0] else (pts[0][0], pts[0][1] + 0.01), dxfattribs={"layer": "楼栋"})
    msp.add_text("8号楼 120户", dxfattribs={"layer": "0", "insert": (500_010, 4_400_005)})
    path = tmp_path / "lines.dxf"
    doc.saveas(path)
    drawing = read_dxf(path)  # 楼栋 is a gridplan layer name: no map needed
    b = drawing.layers["buildings"]
    assert len(b) == 1 and b.geometry.iloc[0].area == pytest.approx(360, rel=1e-3)
    assert b["households"].tolist() == [120] and b["name"].tolist() == ["8号楼"]
    assert len(drawing.unclosed) == 0
    assert any("joined" in msgid for _, msgid, _ in drawing.notes)


def test_outlines_inside_blocks_and_bulges(tmp_path):
    doc = ezdxf.new("R2013")
    block = doc.blocks.new("TOWER")
    # A tower with a rounded end (a bulge of 1 = a half circle), drawn on layer 0 of the block.
    block.add_lwpolyline([(0, 0, 0), (20, 0, 1), (20, 10, 0), (0, 10, 0)], format="xyb", close=True)
    block.add_attdef("NO", (5, 4), dxfattribs={"height": 1})
    msp = doc.modelspace()
    for i in range(3):
        ref = msp.add_blockref("TOWER", (600_000 + 40 * i, 3_500_000), dxfattribs={"layer": "建筑"})
        ref.add_auto_attribs({"NO": f"{i + 1}# 26层 208户"})
    path = tmp_path / "blocks.dxf"
    doc.saveas(path)
    b = read_dxf(path, layer_map={"建筑": "buildings"}).layers["buildings"]
    assert len(b) == 3
    # 20 × 10 plus a half disc of radius 5, followed to within the arc tolerance.
    exact = 200 + np.pi * 25 / 2
    tolerance = np.pi * 5 * CadSettings().arc_tolerance
    assert np.abs(b.geometry.area.to_numpy() - exact).max() < tolerance
    assert sorted(b["name"]) == ["1#", "2#", "3#"]
    assert b["households"].tolist() == [208] * 3 and b["floors"].tolist() == [26] * 3


def test_dwg_is_refused_with_the_converters_named(tmp_path):
    path = tmp_path / "site.dwg"
    path.write_bytes(b"AC1032" + bytes(200))
    with pytest.raises(LayerReadError) as err:
        read_project(path, crs=GK)
    assert "ODA File Converter" in str(err.value) and "LibreCAD" in str(err.value)
    renamed = tmp_path / "site.dxf"  # a DWG renamed to .dxf is told apart by its first bytes
    path.rename(renamed)
    with pytest.raises(LayerReadError, match="DWG"):
        read_dxf(renamed)


def test_not_a_dxf(tmp_path):
    path = tmp_path / "site.dxf"
    path.write_text("这不是图纸\n", encoding="utf-8")
    with pytest.raises(LayerReadError) as err:
        read_dxf(path)
    assert "DXF" in str(err.value)


def test_a_cad_drawing_needs_a_crs_and_the_guess_names_the_zone(beijing_buildings, tmp_path):
    path = _drawing(beijing_buildings.head(3), tmp_path)
    with pytest.raises(CRSError) as err:
        read_project(path, layer_map="建筑=buildings")
    assert "EPSG:4534–4554" in str(err.value) and "EPSG:4548" in str(err.value)
    # Zone-prefixed eastings (zone 39) name their CRS.
    prefixed = beijing_buildings.head(3).to_crs("EPSG:4527")
    (tmp_path / "z").mkdir()
    path2 = _drawing(prefixed, tmp_path / "z")
    with pytest.raises(CRSError, match="EPSG:4527"):
        read_project(path2, layer_map="建筑=buildings")
    project = read_project(path2, crs="EPSG:4527", layer_map="建筑=buildings")
    original = beijing_buildings.head(3).geometry
    assert project.buildings.to_crs(GK).distance(original.union_all()).max() < 1e-3


def test_layer_map_errors(beijing_buildings, tmp_path):
    path = _drawing(beijing_buildings.head(3), tmp_path)
    with pytest.raises(FieldError, match="房屋"):
        read_dxf(path, layer_map="房屋=buildings")
    with pytest.raises(FieldError, match="no '='"):
        parse_layer_map("建筑 buildings")
    with pytest.raises(FieldError, match="not a gridplan layer"):
        parse_layer_map("建筑=房子们")
    with pytest.raises(LayerReadError, match="--layer-map 建筑=buildings"):
        read_dxf(path, layer_map="社区边界=communities")


def test_read_layer_takes_one_layer_of_a_drawing(beijing_buildings, tmp_path):
    path = _drawing(beijing_buildings.head(4), tmp_path)
    frame, _, _ = read_layer(
        path, role="communities", crs=GK, layer_map="建筑=buildings,社区边界=communities"
    )
    assert len(frame) == 1 and frame.crs.to_epsg() == 4490


def test_close_gap_setting(tmp_path):
    doc = ezdxf.new("R2013")
    msp = doc.modelspace()
    pts = [(500_000, 4_400_000), (500_030, 4_400_000), (500_030, 4_400_012), (500_000, 4_400_012), (500_000, 4_400_000.2)]
    msp.add_lwpolyline(pts, dxfattribs={"layer": "建筑"})
    path = tmp_path / "gap.dxf"
    doc.saveas(path)
    assert len(read_dxf(path).unclosed) == 1
    assert len(read_dxf(path, settings=CadSettings(close_gap=0.5)).layers["buildings"]) == 1


_NAMES = st.text(alphabet="一二三东西南北楼栋座号甲乙ABC#", min_size=1, max_size=6).filter(
    lambda s: not s[0].isdigit() and any(ch.isalnum() for ch in s)
)


@given(
    name=_NAMES,
    floors=st.integers(1, 99),
    households=st.integers(0, 2000),
    fmt=st.sampled_from(
        ["{n} {f}F {h}户", "{n}\n地上{f}层\n{h}户", "{h}户 {n} {f}层", "{n}/{f}F/户数:{h}"]
    ),
)
def test_label_parts_come_back(name, floors, households, fmt):
    parsed = parse_label(fmt.format(n=name, f=floors, h=households))
    assert parsed["floors"] == floors
    assert parsed["households"] == households
    assert parsed["name"] == name


def test_write_dxf_reads_back_with_ezdxf_and_gdal(tmp_path):
    import pyogrio

    grids = gpd.GeoDataFrame(
        {"grid_code": ["110108001001001", "110108001001002"], "households": [40, 36]},
        geometry=[shapely.box(500_000, 4_400_000, 500_080, 4_400_060),
                  shapely.box(500_080, 4_400_000, 500_150, 4_400_060).difference(
                      shapely.box(500_100, 4_400_020, 500_110, 4_400_030))],
        crs=GK,
    )
    out = write_dxf(
        [DxfLayer("网格", grids, label=lambda r: [r.grid_code, f"{r.households}户"])],
        tmp_path / "g.dxf",
    )
    doc = ezdxf.readfile(out)
    polylines = doc.modelspace().query('LWPOLYLINE[layer=="网格"]')
    assert len(polylines) == 3 and all(p.closed for p in polylines)
    texts = [m.plain_text() for m in doc.modelspace().query("MTEXT")]
    assert texts == ["110108001001001\n40户", "110108001001002\n36户"]
    style = doc.styles.get(doc.modelspace().query("MTEXT")[0].dxf.style)
    assert style.dxf.font == "simsun.ttc"
    pyogrio.set_gdal_config_options({"DXF_CLOSED_LINE_AS_POLYGON": "TRUE"})
    try:
        back = pyogrio.read_dataframe(out)
    finally:
        pyogrio.set_gdal_config_options({"DXF_CLOSED_LINE_AS_POLYGON": None})
    rings = back[back["Layer"] == "网格"]
    assert len(rings) == 3 and set(rings.geom_type) == {"Polygon"}
    assert sorted(back.loc[back["Layer"] == "网格-标注", "Text"]) == [
        "110108001001001\n40户", "110108001001002\n36户"
    ]
    # Read back as ours: the unlabelled ring inside the second grid is its hole again.
    back = read_dxf(out, layer_map="网格=buildings").layers["buildings"]
    assert len(back) == 2
    diff = back.geometry.set_crs(GK).reset_index(drop=True).symmetric_difference(grids.geometry)
    assert diff.area.max() < 1e-6
