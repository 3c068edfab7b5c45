"""Zip uploads: inspected before anything is written, names decoded, limits enforced."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import bad_inputs.make_corpus as mc  # tests/ is on pytest's pythonpath
import pytest

from gis.errors import LayerReadError
from gis.zipsafe import ZipLimits, extract_zip, member_name


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_extracts_a_subfolder_and_keeps_the_bytes(tmp_path: Path):
    archive = mc.write_zip(
        tmp_path / "in.zip",
        {"海淀区/楼栋/楼栋.geojson": b'{"type": "FeatureCollection"}', "说明.txt": "社区".encode()},
    )
    out = tmp_path / "out"
    written = extract_zip(archive, out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == [
        "海淀区/楼栋/楼栋.geojson",
        "说明.txt",
    ]
    assert (out / "海淀区/楼栋/楼栋.geojson").read_bytes() == b'{"type": "FeatureCollection"}'
    assert (out / "说明.txt").read_text(encoding="utf-8") == "社区"


def test_cp936_member_names_without_utf8_flag_are_decoded(tmp_path: Path):
    archive = mc.write_zip(
        tmp_path / "in.zip",
        {"清华园街道/楼栋.dbf": b"x", "清华园街道/社区.shp": b"y"},
        cp936_names=True,
    )
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
    # Stored the Chinese-Windows way: no UTF-8 flag, so zipfile alone shows mojibake.
    assert all(not info.flag_bits & 0x800 for info in infos)
    assert infos[0].filename != "清华园街道/楼栋.dbf"
    assert [member_name(i) for i in infos] == ["清华园街道/楼栋.dbf", "清华园街道/社区.shp"]
    written = extract_zip(archive, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        "清华园街道/楼栋.dbf",
        "清华园街道/社区.shp",
    ]


def test_utf8_flagged_names_are_kept(tmp_path: Path):
    archive = mc.write_zip(tmp_path / "in.zip", {"楼栋.txt": b"x"})
    with zipfile.ZipFile(archive) as zf:
        (info,) = zf.infolist()
    assert info.flag_bits & 0x800
    assert member_name(info) == "楼栋.txt"


def test_accepts_bytes(tmp_path: Path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("楼栋.geojson", "{}")
    written = extract_zip(buffer.getvalue(), tmp_path)
    assert [p.name for p in written] == ["楼栋.geojson"]


def test_skips_macos_metadata_and_hidden_files(tmp_path: Path):
    archive = mc.write_zip(
        tmp_path / "in.zip",
        {
            "楼栋.geojson": b"{}",
            "__MACOSX/._楼栋.geojson": b"junk",
            ".DS_Store": b"junk",
            "dir/.hidden": b"x",
        },
    )
    written = extract_zip(archive, tmp_path / "out")
    assert [p.name for p in written] == ["楼栋.geojson"]
    assert _files(tmp_path / "out") == ["楼栋.geojson"]


UNSAFE = {
    "dotdot": "../../楼栋.shp",
    "dotdot_inside": "海淀区/../../楼栋.shp",
    "backslash_dotdot": "..\\..\\楼栋.shp",
    "absolute": "/etc/cron.d/楼栋.shp",
    "backslash_absolute": "\\Windows\\楼栋.shp",
    "drive_letter": "C:\\Users\\规划科\\楼栋.shp",
    "drive_letter_slash": "D:/楼栋.shp",
}


@pytest.mark.parametrize("member", UNSAFE.values(), ids=UNSAFE.keys())
def test_unsafe_member_is_refused_before_anything_is_written(member: str, tmp_path: Path):
    archive = mc.write_zip(tmp_path / "in.zip", {"a_first.geojson": b"{}", member: b"x" * 10})
    out = tmp_path / "deep" / "out"
    with pytest.raises(LayerReadError) as info:
        extract_zip(archive, out)
    assert str(info.value) == (
        f"The zip in.zip contains an unsafe path {member!r} (absolute or with '..'). "
        "Re-create the zip from the folder itself."
    )
    # Nothing was extracted, not even the safe member listed before it.
    assert not out.exists()
    assert _files(tmp_path) == ["in.zip"]


def test_symlink_is_refused(tmp_path: Path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("楼栋.shp")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(LayerReadError, match=r"contains a link '楼栋\.shp'"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_entry_count_is_bounded(tmp_path: Path):
    archive = mc.write_zip(tmp_path / "in.zip", {f"{i}.geojson": b"{}" for i in range(11)})
    with pytest.raises(LayerReadError) as info:
        extract_zip(archive, tmp_path / "out", limits=ZipLimits(max_entries=10))
    assert (
        str(info.value)
        == "The zip in.zip has 11 files; at most 10 are accepted. Upload fewer layers at once."
    )
    extract_zip(archive, tmp_path / "ok", limits=ZipLimits(max_entries=11))  # at the limit: fine


def test_total_size_is_bounded(tmp_path: Path):
    archive = mc.make_zip_too_big(tmp_path)
    with pytest.raises(LayerReadError, match=r"unpacks to 2 MB; at most 1 MB"):
        extract_zip(archive, tmp_path / "out", limits=ZipLimits(max_total_bytes=1024**2))
    assert not (tmp_path / "out").exists()
    assert (
        len(extract_zip(archive, tmp_path / "ok", limits=ZipLimits(max_total_bytes=3 * 1024**2)))
        == 1
    )


def test_compression_ratio_is_bounded(tmp_path: Path):
    archive = mc.make_zip_bomb(tmp_path)
    with pytest.raises(LayerReadError, match=r"expands \d+ times, which looks like a zip bomb"):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # With a generous ratio the same archive is fine: the check is the ratio, not the size.
    written = extract_zip(archive, tmp_path / "ok", limits=ZipLimits(max_ratio=5000))
    assert written[0].stat().st_size == mc.BOMB_BYTES


def test_small_files_that_compress_well_are_not_bombs(tmp_path: Path):
    # 1 MB of spaces deflates > 100× but is far below the 10 MB floor of the ratio check.
    archive = mc.write_zip(tmp_path / "in.zip", {"楼栋.geojson": b" " * 1024**2})
    assert len(extract_zip(archive, tmp_path / "out")) == 1


def test_header_sizes_that_lie_are_caught(tmp_path: Path):
    archive = mc.make_zip_lying_header(tmp_path)
    with pytest.raises(LayerReadError, match="is not a readable zip file"):
        extract_zip(archive, tmp_path / "out")
    out = tmp_path / "out" / "楼栋.geojson"
    assert not out.exists() or out.stat().st_size <= 1024**2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            mc.make_zip_password,
            "The zip 楼栋.zip is password-protected. Zip the files without a password.",
        ),
        (
            mc.make_zip_deflate64,
            "The zip 楼栋.zip uses a compression method gridplan cannot unpack (method 9, e.g. "
            "Deflate64 or PPMd). Zip the files again with ordinary compression.",
        ),
        (
            mc.make_zip_not_a_zip,
            "楼栋.zip is not a readable zip file (it is damaged or not a zip). Zip the files again.",
        ),
        (
            mc.make_zip_truncated,
            "楼栋.zip is not a readable zip file (it is damaged or not a zip). Zip the files again.",
        ),
    ],
    ids=["password", "deflate64", "not_a_zip", "truncated"],
)
def test_unreadable_archives(make, message: str, tmp_path: Path):
    with pytest.raises(LayerReadError) as info:
        extract_zip(make(tmp_path), tmp_path / "out")
    assert str(info.value) == message


def test_bytes_upload_is_named_upload_in_messages(tmp_path: Path):
    with pytest.raises(LayerReadError) as info:
        extract_zip(b"not a zip at all", tmp_path)
    assert (
        str(info.value)
        == "upload is not a readable zip file (it is damaged or not a zip). Zip the files again."
    )


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_member_listed_twice_is_refused(tmp_path: Path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("社区/社区.dbf", b"first")
        zf.writestr("社区/社区.dbf", b"second")
    with pytest.raises(LayerReadError) as info:
        extract_zip(archive, tmp_path / "out")
    assert str(info.value) == (
        "The zip in.zip holds '社区/社区.dbf' twice (or as both a file and a folder). "
        "Re-create the zip from the folder itself."
    )


def test_file_that_is_also_a_folder_is_refused(tmp_path: Path):
    archive = mc.make_zip_file_and_folder(tmp_path)
    with pytest.raises(
        LayerReadError, match=r"holds '楼栋' twice \(or as both a file and a folder\)"
    ):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
