"""Inspect and extract zip uploads safely.

A planner's zip is inspected before anything is written: absolute paths, ``..``,
drive letters and links are refused, and the number of entries, the total size and the
compression ratio are bounded. Member names written by Chinese Windows (CP936, no UTF-8
flag) are decoded correctly. Members are copied with a byte counter, because header
sizes can lie.

Examples
--------
>>> import io, zipfile, tempfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as zf:
...     zf.writestr("楼栋/楼栋.txt", "x")
>>> paths = extract_zip(buf.getvalue(), tempfile.mkdtemp())
>>> [p.name for p in paths]
['楼栋.txt']
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gis.errors import LayerReadError
from gis.i18n import N_

__all__ = ["ZipLimits", "extract_zip", "member_name"]

_UTF8_FLAG = 0x800
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on a zip upload."""

    max_entries: int = 2_000
    max_total_bytes: int = 2 * 1024**3
    max_ratio: float = 100.0


def member_name(info: zipfile.ZipInfo) -> str:
    """Return a member's real name, decoding CP936 names stored without the UTF-8 flag."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _check_member(info: zipfile.ZipInfo, name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        msg = N_(
            "The zip {archive} contains an unsafe path {member!r} (absolute or with '..'). "
            "Re-create the zip from the folder itself."
        )
        raise LayerReadError(msg, archive=archive, member=name)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        msg = N_("The zip {archive} contains a link {member!r}. Zip the real files instead.")
        raise LayerReadError(msg, archive=archive, member=name)
    return path


def _check_collisions(paths: list[PurePosixPath], archive: str) -> None:
    """Refuse a member listed twice, or a file that is also a folder of other members."""
    seen: set[PurePosixPath] = set()
    folders = {parent for path in paths for parent in path.parents}
    for path in paths:
        if path in seen or path in folders:
            msg = N_(
                "The zip {archive} holds {member!r} twice (or as both a file and a folder). "
                "Re-create the zip from the folder itself."
            )
            raise LayerReadError(msg, archive=archive, member=str(path))
        seen.add(path)


def extract_zip(
    source: str | Path | bytes,
    destination: str | Path,
    *,
    limits: ZipLimits | None = None,
) -> list[Path]:
    """Check a zip and extract its files under ``destination``; return the extracted files.

    Raises
    ------
    LayerReadError
        If the file is not a zip, or breaks one of the safety limits.
    """
    limits = limits or ZipLimits()
    archive = "upload" if isinstance(source, bytes) else Path(source).name
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        zf = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, EOFError):
        msg = N_(
            "{archive} is not a readable zip file (it is damaged or not a zip). Zip the files again."
        )
        raise LayerReadError(msg, archive=archive) from None
    destination = Path(destination)
    written: list[Path] = []
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_entries:
            msg = N_(
                "The zip {archive} has {n} files; at most {limit} are accepted. Upload fewer layers at once."
            )
            raise LayerReadError(msg, archive=archive, n=len(infos), limit=limits.max_entries)
        declared = sum(i.file_size for i in infos)
        compressed = sum(i.compress_size for i in infos)
        if declared > limits.max_total_bytes:
            msg = N_(
                "The zip {archive} unpacks to {size} MB; at most {limit} MB are accepted. Upload the "
                "layers in several zips, or leave out files that are not layers (imagery, CAD)."
            )
            raise LayerReadError(
                msg,
                archive=archive,
                size=declared // 1024**2,
                limit=limits.max_total_bytes // 1024**2,
            )
        if compressed and declared / compressed > limits.max_ratio and declared > 10 * 1024**2:
            msg = N_(
                "The zip {archive} expands {ratio:.0f} times, which looks like a zip bomb; it was not "
                "opened. Zip the layer files as they are."
            )
            raise LayerReadError(msg, archive=archive, ratio=declared / compressed)
        names = [(info, _check_member(info, member_name(info), archive)) for info in infos]
        _check_collisions([path for _, path in names], archive)
        total = 0
        for info, path in names:
            if path.name.startswith(".") or "__MACOSX" in path.parts:
                continue
            target = destination.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("wb") as dst:
                    while chunk := src.read(_CHUNK):
                        total += len(chunk)
                        if total > limits.max_total_bytes or (
                            compressed
                            and total > 10 * 1024**2
                            and total / compressed > limits.max_ratio
                        ):
                            msg = N_(
                                "The zip {archive} expands {ratio:.0f} times, which looks like a zip "
                                "bomb; it was not opened. Zip the layer files as they are."
                            )
                            raise LayerReadError(
                                msg, archive=archive, ratio=total / max(compressed, 1)
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                msg = N_(
                    "{archive} is not a readable zip file (it is damaged or not a zip). Zip the files again."
                )
                raise LayerReadError(msg, archive=archive) from None
            except NotImplementedError:  # a RuntimeError, so caught first
                msg = N_(
                    "The zip {archive} uses a compression method gridplan cannot unpack (method "
                    "{method}, e.g. Deflate64 or PPMd). Zip the files again with ordinary compression."
                )
                raise LayerReadError(msg, archive=archive, method=info.compress_type) from None
            except RuntimeError:
                msg = N_(
                    "The zip {archive} is password-protected. Zip the files without a password."
                )
                raise LayerReadError(msg, archive=archive) from None
            written.append(target)
    return written
