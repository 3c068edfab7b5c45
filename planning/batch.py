"""A whole city in one batch: one task per community, on one machine or several.

Gridding is embarrassingly parallel: a community's grids depend only on its own
polygon, its buildings, the compounds and lines that touch it, and the rules. So "one
community" is a pure task (:func:`grid_task`, :func:`split_task`) over a
:class:`CommunityTask` holding just those rows, and :func:`run_batch` runs the tasks

* in this process (``backend="serial"``),
* in ``n_jobs`` processes on this machine (``backend="joblib"``), or
* on a ``dask.distributed`` cluster (``backend="dask"``): a scheduler address, or a local
  cluster of ``n_jobs`` single-threaded worker processes. Each community's rows are
  scattered to one worker, so no task carries the whole city.

Tasks run largest community first (the longest task does not start last). The result is
one plan, and every backend gives the same plan, equal to :func:`planning.grids.make_grids`
on the whole project (same codes, households, members and geometry): ``make_grids`` itself
grids each community from its own rows, the same rows a task carries.

**Resume.** With ``checkpoint=DIR`` every finished community is written to ``DIR`` at once
(parquet files in a folder moved into place with ``os.replace``, so an interruption never
leaves half a result). The folder is named by a hash of the community's inputs, the
rules and the options: a rerun reuses what is still valid, recomputes the rest, and says
how many it resumed (:attr:`BatchResult.resumed`).

Examples
--------
>>> from gis.datasets.synthetic import make_city
>>> city = make_city(4_000, n_communities=2, seed=1)
>>> result = run_batch(city, task="grids")
>>> result.community_ids
('110101001001', '110101001002')
>>> int(result.grids.grids["households"].sum())
4000
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import STORAGE_CRS, metric_crs_for
from gis.errors import GridplanError
from gis.i18n import N_
from gis.io import Project
from planning.communities import Loaded, load, prepare
from planning.grids import (
    GridResult,
    buildings_by_community,
    community_prefixes,
    make_grids,
    rows_touching,
)
from planning.rules import RuleSet, get_preset

__all__ = [
    "BACKENDS",
    "TASKS",
    "BatchError",
    "BatchOptions",
    "BatchResult",
    "CommunityTask",
    "DependencyMissingError",
    "SchedulerError",
    "community_tasks",
    "grid_task",
    "run_batch",
    "split_task",
]

TASKS: tuple[str, ...] = ("grids", "split", "check")
"""What :func:`run_batch` can do: grid every community, split the oversized, check."""

BACKENDS: tuple[str, ...] = ("serial", "joblib", "dask")
"""Where the tasks run: this process, joblib processes, a ``dask.distributed`` cluster."""

CHECKPOINT_VERSION = "1"
"""Part of every checkpoint key: bump it when a task's output format changes."""

_GEO_FRAMES = frozenset({"grids", "patches", "proposals"})
_SPLIT_STATUSES = frozenset({"may_split", "must_split"})
_LINE_LAYERS = ("compounds", "roads", "waterways", "barriers", "landuse")

Task = Literal["grids", "split", "check"]
Backend = Literal["serial", "joblib", "dask"]
Frames = dict[str, pd.DataFrame]


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------
class BatchError(GridplanError):
    """A batch could not be run as asked."""


class SchedulerError(BatchError):
    """The ``dask.distributed`` scheduler could not be reached."""


class DependencyMissingError(BatchError):
    """An optional package a backend needs is not installed."""


# --------------------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOptions:
    """What a task needs besides the data; part of every checkpoint key.

    Parameters
    ----------
    rules
        The rule set (grid band, patch size, split thresholds).
    lang
        Language of the reasons.
    parts, alternatives, seed
        Passed to :func:`planning.split.propose_splits` (the ``split`` task only).
    """

    rules: RuleSet = field(default_factory=get_preset)
    lang: str = "en"
    parts: int | None = None
    alternatives: int = 3
    seed: int = 0


@dataclass(frozen=True)
class CommunityTask:
    """One community and only the rows it needs, in EPSG:4490.

    Attributes
    ----------
    community_id
        The community's id.
    households
        Its households (to run the largest first).
    community
        A one-row frame: the community's polygon and attributes.
    buildings
        Buildings whose representative point lies in the community (as
        :func:`planning.grids.make_grids` assigns them).
    compounds, roads, waterways, barriers, landuse
        Rows that touch the community's polygon, or ``None``.
    service_centres
        All service centres for the split task (it measures to the nearest, wherever it
        is); ``None`` for the grids task.
    """

    community_id: str
    households: int
    community: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    waterways: gpd.GeoDataFrame | None = None
    barriers: gpd.GeoDataFrame | None = None
    service_centres: gpd.GeoDataFrame | None = None
    landuse: gpd.GeoDataFrame | None = None

    def key(self, task: str, options: BatchOptions) -> str:
        """A hash of the inputs, the task and the options (names the checkpoint).

        Examples
        --------
        >>> from gis.datasets.synthetic import make_city
        >>> tasks = community_tasks(make_city(4_000, n_communities=2, seed=1))
        >>> a = tasks[0].key("grids", BatchOptions())
        >>> a == tasks[0].key("grids", BatchOptions()), a == tasks[0].key("grids", BatchOptions(lang="zh_CN"))
        (True, False)
        """
        digest = hashlib.blake2b(digest_size=12)
        digest.update(f"{CHECKPOINT_VERSION}|{task}|{self.community_id}|".encode())
        digest.update(repr(options).encode())
        frames: list[gpd.GeoDataFrame | None] = [
            self.community,
            self.buildings,
            self.compounds,
            self.roads,
            self.waterways,
            self.barriers,
        ]
        if self.landuse is not None:  # absent: the key stays what it was
            frames.append(self.landuse)
        if task == "split":
            frames.append(self.service_centres)
        for frame in frames:
            _hash_frame(digest, frame)
        return digest.hexdigest()


def _hash_frame(digest: Any, frame: pd.DataFrame | None) -> None:
    if frame is None:
        digest.update(b"<none>")
        return
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(str(len(frame)).encode())
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        digest.update(
            b"".join(shapely.to_wkb(frame.geometry.values, hex=False, include_srid=False))
        )
        attributes = frame.drop(columns=frame.geometry.name)
    else:
        attributes = frame
    if len(attributes.columns):
        try:
            digest.update(pd.util.hash_pandas_object(attributes, index=True).to_numpy().tobytes())
        except TypeError:  # unhashable cells (lists): fall back to their pickle
            digest.update(pickle.dumps(attributes.to_dict("list")))


def grid_task(task: CommunityTask, options: BatchOptions) -> Frames:
    """Grid one community: what :func:`~planning.grids.make_grids` gives it in a whole run.

    Returns
    -------
    dict
        ``grids``, ``grid_members``, ``patches`` and ``divided_buildings`` frames.

    Examples
    --------
    >>> from gis.datasets.synthetic import make_city
    >>> task = community_tasks(make_city(4_000, n_communities=2, seed=1))[0]
    >>> frames = grid_task(task, BatchOptions())
    >>> int(frames["grids"]["households"].sum()) == task.households
    True
    """
    result = make_grids(
        task.buildings,
        communities=task.community,
        roads=task.roads,
        waterways=task.waterways,
        barriers=task.barriers,
        compounds=task.compounds,
        landuse=task.landuse,
        rules=options.rules,
        lang=options.lang,
    )
    return {
        "grids": result.grids,
        "grid_members": result.grid_members,
        "patches": result.patches,
        "divided_buildings": result.divided_buildings,
        "zones": result.zones,
    }


def split_task(task: CommunityTask, options: BatchOptions) -> Frames:
    """Propose splits of one community (:func:`planning.split.propose_splits`).

    Returns
    -------
    dict
        ``proposals`` (every alternative's parts), ``lineage`` (of the best) and
        ``alternatives`` (``community_id``, ``k``, ``rank``, ``summary``: the CLI's JSON of
        each alternative); or ``errors`` (``community_id``, ``message``) when the
        community cannot be split as asked.
    """
    import json

    from planning.split import propose_splits

    try:
        result = propose_splits(
            task.buildings,
            community=task.community,
            roads=task.roads,
            waterways=task.waterways,
            barriers=task.barriers,
            compounds=task.compounds,
            service_centres=task.service_centres,
            rules=options.rules,
            parts=options.parts,
            alternatives=options.alternatives,
            seed=options.seed,
            lang=options.lang,
        )
    except GridplanError as exc:
        return {
            "errors": pd.DataFrame(
                {"community_id": [task.community_id], "message": [exc.render(options.lang)]}
            )
        }
    summaries = [
        {
            "community_id": result.community_id,
            "k": result.k,
            "rank": alt.rank,
            "summary": json.dumps(alt.as_dict(), ensure_ascii=False),
        }
        for alt in result.alternatives
    ]
    return {
        "proposals": result.proposals(),
        "lineage": result.lineage(1),
        "alternatives": pd.DataFrame(summaries, columns=["community_id", "k", "rank", "summary"]),
    }


_TASK_FUNCTIONS: Mapping[str, Callable[[CommunityTask, BatchOptions], Frames]] = {
    "grids": grid_task,
    "split": split_task,
}


def _run_one(
    task: CommunityTask, options: BatchOptions, kind: str, key: str
) -> tuple[str, str, Frames]:
    """Run one task (in a worker); return its id and key with the frames."""
    return task.community_id, key, _TASK_FUNCTIONS[kind](task, options)


# --------------------------------------------------------------------------------------
# partitioning the city
# --------------------------------------------------------------------------------------
def _as_loaded(
    source: Any, *, rules: RuleSet, lang: str, read_options: Mapping[str, Any]
) -> Loaded:
    if isinstance(source, Loaded):
        return source
    if isinstance(source, Project):
        return prepare(source, rules=rules, lang=lang)
    if isinstance(source, Mapping) and "buildings" in source:
        return prepare(Project(**dict(source)), rules=rules, lang=lang)
    return load(source, rules=rules, lang=lang, **read_options)


def _community_of_buildings(
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    use_dask: bool = False,
    others: Sequence[str] = (),
) -> np.ndarray:
    """Position of the community holding each building (-1: none), as make_grids assigns them.

    See :func:`planning.grids.buildings_by_community`. With ``use_dask`` the point join
    runs partitioned (dask-geopandas, Hilbert-sorted partitions) and only the buildings
    it leaves out are looked up one by one.
    """
    if not use_dask:
        return buildings_by_community(buildings, communities, others=others)
    import dask_geopandas

    points = buildings.geometry.representative_point()
    out = np.full(len(buildings), -1, dtype=np.int64)
    frame = gpd.GeoDataFrame(
        {"row": np.arange(len(buildings))}, geometry=points.values, crs=buildings.crs
    )
    parts = max(1, min(64, len(frame) // 20_000 + 1))
    areas = gpd.GeoDataFrame(
        {"position": np.arange(len(communities))},
        geometry=communities.geometry.values,
        crs=communities.crs,
    )
    ddf = dask_geopandas.from_geopandas(frame, npartitions=parts).spatial_shuffle(by="hilbert")
    joined = ddf.sjoin(areas, predicate="intersects").compute(scheduler="threads")
    joined = joined.sort_values(["row", "position"]).drop_duplicates("row")
    out[joined["row"].to_numpy()] = joined["position"].to_numpy()
    for i in np.flatnonzero(out < 0):
        overlaps = shapely.area(
            shapely.intersection(buildings.geometry.values[i], communities.geometry.values)
        )
        if len(overlaps) and overlaps.max() > 0:
            out[i] = int(np.argmax(overlaps))
    return buildings_by_community(buildings, communities, others=others, located=out)


def community_tasks(
    source: Any,
    *,
    rules: RuleSet | None = None,
    lang: str = "en",
    community_ids: Sequence[str] | None = None,
    use_dask: bool = False,
    **read_options: Any,
) -> list[CommunityTask]:
    """Cut a project into one task per community, largest first.

    Parameters
    ----------
    source
        A project path (see :func:`gis.io.read_project`), a :class:`gis.io.Project`, a
        :class:`planning.communities.Loaded` or a mapping of layers (as
        :func:`gis.datasets.synthetic.make_city` returns).
    rules, lang
        For loading (household estimates, the threshold check).
    community_ids
        Only these communities (all by default).
    use_dask
        Join buildings to communities with dask-geopandas (partitioned).
    **read_options
        Passed to :func:`gis.io.read_project` when ``source`` is a path.

    Returns
    -------
    list of CommunityTask
        Largest community (by households) first; ties by id.

    Examples
    --------
    >>> from gis.datasets.synthetic import make_city
    >>> tasks = community_tasks(make_city(4_000, n_communities=2, seed=1))
    >>> [(t.community_id, t.households) for t in tasks]
    [('110101001001', 2153), ('110101001002', 1847)]
    """
    rules = rules or get_preset()
    loaded = _as_loaded(source, rules=rules, lang=lang, read_options=read_options)
    return _tasks_from(loaded, community_ids=community_ids, use_dask=use_dask)


def _tasks_from(
    loaded: Loaded, *, community_ids: Sequence[str] | None, use_dask: bool, centres: bool = True
) -> list[CommunityTask]:
    project = loaded.project
    communities = loaded.communities.to_crs(STORAGE_CRS).copy()
    communities["community_id"] = communities["community_id"].astype(str)
    if "grid_prefix" not in communities:  # grid codes as a whole run makes them
        communities["grid_prefix"] = community_prefixes(communities)[0]
    all_ids = list(communities["community_id"])
    if community_ids is not None:
        wanted = {str(c) for c in community_ids}
        communities = communities[communities["community_id"].isin(wanted)]
    communities = communities.reset_index(drop=True)
    buildings = project.buildings.to_crs(STORAGE_CRS)
    if "building_id" not in buildings:  # the ids make_grids would give in a whole run
        buildings = buildings.copy()
        buildings["building_id"] = [f"B{i + 1:06d}" for i in range(len(buildings))]
    owner = _community_of_buildings(buildings, communities, use_dask=use_dask, others=all_ids)
    by_owner = pd.Series(np.arange(len(buildings))).groupby(owner).indices
    polygons = communities.geometry.values
    layers = {name: getattr(project, name) for name in _LINE_LAYERS}
    layers = {
        name: None if frame is None else frame.to_crs(STORAGE_CRS) for name, frame in layers.items()
    }
    touching = {name: rows_touching(frame, polygons) for name, frame in layers.items()}
    service_centres = project.service_centres if centres else None
    empty = np.zeros(0, dtype=np.int64)
    building_parts = _pieces(
        buildings, [np.sort(by_owner.get(i, empty)) for i in range(len(communities))]
    )
    layer_parts = {
        name: None if frame is None or touching[name] is None else _pieces(frame, touching[name])
        for name, frame in layers.items()
    }
    community_parts = _pieces(communities, [np.array([i]) for i in range(len(communities))])
    tasks = []
    for i, row in communities.iterrows():
        members = building_parts[i]
        parts = {
            name: None if pieces is None else pieces[i] for name, pieces in layer_parts.items()
        }
        tasks.append(
            CommunityTask(
                community_id=str(row["community_id"]),
                households=int(members["households"].sum()) if len(members) else 0,
                community=community_parts[i],
                buildings=members,
                service_centres=service_centres,
                **parts,
            )
        )
    tasks.sort(key=lambda t: (-t.households, t.community_id))
    return tasks


def _pieces(frame: pd.DataFrame, positions: Sequence[np.ndarray]) -> list[pd.DataFrame]:
    """Return ``frame.iloc[p]`` for each array ``p`` of ``positions``, sliced from one take.

    A take per community cost about a millisecond a layer: 1.2 s for a city of 200
    communities, in the main process while the workers waited.
    """
    sizes = np.array([len(p) for p in positions], dtype=np.int64)
    ends = np.cumsum(sizes)
    every = frame.iloc[np.concatenate([*positions, np.zeros(0, dtype=np.int64)])]
    return [every.iloc[end - size : end] for size, end in zip(sizes, ends, strict=True)]


def _check_zones(tasks: Sequence[CommunityTask]) -> None:
    """Warn when communities fall in different 3° zones from the whole (a tiny drift)."""
    if len(tasks) < 2:
        return
    bounds = np.array([t.community.total_bounds for t in tasks])
    whole = metric_crs_for(
        (bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max())
    )
    if any(metric_crs_for(tuple(b)) != whole for b in bounds):
        warnings.warn(
            "The communities span two 3-degree Gauss-Kruger zones: a community gridded alone is "
            "measured in its own zone, so its grids may differ slightly from a whole-project run.",
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchResult:
    """One plan collected from a batch.

    Attributes
    ----------
    task
        ``grids``, ``split`` or ``check``.
    community_ids
        The communities of the batch, in id order.
    grids
        The grid plan (task ``grids``), as :func:`planning.grids.make_grids` returns it.
    proposals, lineage, alternatives, errors
        Split proposals of every oversized community (task ``split``): every
        alternative's parts, the lineage of the best, one row per alternative
        (``summary`` is its JSON), and the communities that could not be split.
    communities
        The communities with their totals and status (every task).
    resumed
        Communities whose result was read from the checkpoint.
    computed
        Communities computed in this run.
    backend, seconds
        Where the tasks ran, and the wall time.
    """

    task: str
    community_ids: tuple[str, ...]
    communities: gpd.GeoDataFrame
    grids: GridResult | None = None
    proposals: gpd.GeoDataFrame | None = None
    lineage: pd.DataFrame | None = None
    alternatives: pd.DataFrame | None = None
    errors: pd.DataFrame | None = None
    resumed: tuple[str, ...] = ()
    computed: tuple[str, ...] = ()
    backend: str = "serial"
    seconds: float = 0.0

    def layers(self) -> dict[str, pd.DataFrame]:
        """The plan's layers, for :func:`gis.store.write_plan`."""
        if self.grids is not None:
            return {
                "grids": self.grids.grids,
                "grid_members": self.grids.grid_members,
                "patches": self.grids.patches,
            }
        if self.proposals is not None and self.lineage is not None:
            return {"proposals": self.proposals, "lineage": self.lineage}
        return {}


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    kept = [f for f in frames if len(f)]
    if not kept:
        return frames[0] if frames else pd.DataFrame()
    out = pd.concat(kept, ignore_index=True)
    if isinstance(kept[0], gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry=kept[0].geometry.name, crs=kept[0].crs)
    return out


def _collect(kind: str, results: Mapping[str, Frames]) -> dict[str, Any]:
    ordered = [results[c] for c in sorted(results)]

    def frames(name: str) -> list[pd.DataFrame]:
        return [r[name] for r in ordered if name in r]

    if kind == "grids":
        if not ordered:
            return {}
        divided = _concat(frames("divided_buildings"))
        if divided.empty:
            divided = pd.DataFrame(columns=["building_id", "parts", "how"])
        grid_result = GridResult(
            grids=_concat(frames("grids")),
            grid_members=_concat(frames("grid_members")),
            patches=_concat(frames("patches")),
            divided_buildings=divided.reset_index(drop=True),
            zones=_concat(frames("zones")) if frames("zones") else pd.DataFrame(),
        )
        return {"grids": grid_result}
    out: dict[str, Any] = {}
    for name in ("proposals", "lineage", "alternatives", "errors"):
        found = frames(name)
        out[name] = _concat(found) if found else None
    return out


# --------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------
def _checkpoint_dir(root: Path, kind: str, community_id: str, key: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in community_id)[:60]
    return root / f"{kind}-{safe}-{key}"


def _save(root: Path, kind: str, community_id: str, key: str, frames: Frames) -> None:
    """Write one community's frames into a folder moved into place atomically."""
    target = _checkpoint_dir(root, kind, community_id, key)
    if target.exists():
        return
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-{uuid.uuid4().hex[:6]}-", dir=root))
    try:
        for name, frame in frames.items():
            path = tmp / f"{name}.parquet"
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_parquet(path)
            else:
                pd.DataFrame(frame).to_parquet(path)
        os.replace(tmp, target)
    except OSError:
        if not target.exists():
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _load(root: Path, kind: str, community_id: str, key: str) -> Frames | None:
    folder = _checkpoint_dir(root, kind, community_id, key)
    if not folder.is_dir():
        return None
    frames: Frames = {}
    for path in sorted(folder.glob("*.parquet")):
        name = path.stem
        frames[name] = gpd.read_parquet(path) if name in _GEO_FRAMES else pd.read_parquet(path)
    return frames


# --------------------------------------------------------------------------------------
# backends
# --------------------------------------------------------------------------------------
def _workers(n_jobs: int) -> int:
    if n_jobs == 0:
        return 1
    return max(1, (os.cpu_count() or 1) + 1 + n_jobs) if n_jobs < 0 else n_jobs


def _serial(
    pending: Sequence[tuple[CommunityTask, str]], kind: str, options: BatchOptions
) -> Iterator[tuple[str, str, Frames]]:
    for task, key in pending:
        yield _run_one(task, options, kind, key)


def _can_fork() -> bool:
    """Whether worker processes may be forked from this one: the platform forks, and
    this process runs one thread (a fork copies only the thread that calls it, so a lock
    another thread held would stay locked in the child)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _forked(
    pending: Sequence[tuple[CommunityTask, str]], kind: str, options: BatchOptions, n_jobs: int
) -> Iterator[tuple[str, str, Frames]]:
    """Run the tasks in ``n_jobs`` processes forked from this one, in the order given."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork"))
    try:
        futures = [pool.submit(_run_one, task, options, kind, key) for task, key in pending]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _joblib(
    pending: Sequence[tuple[CommunityTask, str]], kind: str, options: BatchOptions, n_jobs: int
) -> Iterator[tuple[str, str, Frames]]:
    """Run the tasks in ``n_jobs`` processes on this machine.

    Forked from this process where that is safe (:func:`_can_fork`): the workers start
    with the engine already imported, where each of loky's fresh interpreters spends
    about 8 s importing geopandas, momepy and libpysal before its first task
    (``bench/results/city.md`` has the generated city's timings). Elsewhere (a process
    with other threads running, such as the Streamlit app's or a notebook's; a platform
    without fork), joblib's loky workers.
    """
    if _can_fork():
        yield from _forked(pending, kind, options, n_jobs)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(
        n_jobs=n_jobs, backend="loky", return_as="generator_unordered", pre_dispatch="n_jobs"
    )
    yield from parallel(delayed(_run_one)(task, options, kind, key) for task, key in pending)


def _dask_client(scheduler: str | None, n_jobs: int, timeout: float) -> tuple[Any, Any]:
    """Return a ``(client, cluster)``; the cluster is ``None`` for a remote scheduler."""
    try:
        import distributed
    except ImportError as exc:
        msg = N_(
            "Running on a dask cluster needs the packages dask and distributed ({error}). "
            "Install them with: pip install 'gridplan[city]', or leave out --scheduler to run on this machine."
        )
        raise DependencyMissingError(msg, error=str(exc)) from exc
    if scheduler is None:
        import psutil

        memory = int(psutil.virtual_memory().total * 0.8 / n_jobs)
        cluster = distributed.LocalCluster(
            n_workers=n_jobs,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return distributed.Client(cluster), cluster
    try:
        return distributed.Client(scheduler, timeout=timeout), None
    except (OSError, TimeoutError, ValueError) as exc:
        msg = N_(
            "Cannot reach the dask scheduler at {address} ({error}). Check the address and port "
            "(e.g. tcp://10.0.0.5:8786), start it with `dask scheduler` and a `dask worker ADDRESS` "
            "on each machine, or leave out --scheduler to run on this machine."
        )
        raise SchedulerError(msg, address=scheduler, error=type(exc).__name__) from exc


def _dask(
    pending: Sequence[tuple[CommunityTask, str]],
    kind: str,
    options: BatchOptions,
    client: Any,
) -> Iterator[tuple[str, str, Frames]]:
    import distributed

    # Each community's rows go to one worker (round-robin, largest first); the tasks
    # then run where their data are, and idle workers steal.
    data = client.scatter([task for task, _ in pending], hash=False)
    futures = [
        client.submit(_run_one, future, options, kind, key, priority=len(pending) - i, pure=False)
        for i, (future, (_, key)) in enumerate(zip(data, pending, strict=True))
    ]
    try:
        for future in distributed.as_completed(futures):
            yield future.result()
            future.release()
    finally:
        client.cancel(futures)


# --------------------------------------------------------------------------------------
# run_batch
# --------------------------------------------------------------------------------------
def _notify(progress: Any, community_id: str) -> None:
    if progress is None:
        return
    if hasattr(progress, "update"):
        progress.update(1)
    else:
        progress(community_id)


def run_batch(
    source: Any,
    *,
    task: Task = "grids",
    backend: Backend = "serial",
    n_jobs: int = -1,
    scheduler: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: Callable[[str], Any] | Any | None = None,
    rules: RuleSet | None = None,
    lang: str = "en",
    community_ids: Sequence[str] | None = None,
    parts: int | None = None,
    alternatives: int = 3,
    seed: int = 0,
    connect_timeout: float = 10.0,
    **read_options: Any,
) -> BatchResult:
    """Run one task per community over a whole city and collect one plan.

    Parameters
    ----------
    source
        A project path, a :class:`gis.io.Project`, a :class:`planning.communities.Loaded`
        or a mapping of layers (as :func:`gis.datasets.synthetic.make_city` returns).
    task
        ``grids`` (every community), ``split`` (every community whose status is
        ``may_split`` or ``must_split``, or those in ``community_ids``) or ``check`` (the
        threshold check; cheap, always in this process).
    backend
        ``serial``, ``joblib`` (``n_jobs`` processes) or ``dask``; a ``scheduler`` implies
        ``dask``.
    n_jobs
        Processes (joblib) or local workers (dask); -1 is every core.
    scheduler
        A ``dask.distributed`` scheduler address (``tcp://host:8786``); ``None`` with the
        dask backend starts a local cluster of ``n_jobs`` single-threaded processes.
    checkpoint
        A folder: each finished community is saved there at once, and a rerun reuses the
        saved results whose inputs, rules and options are unchanged.
    progress
        Called with each community id as it is computed, or a tqdm bar (its ``total``
        is set when unset, and resumed communities count as done).
    rules, lang
        The rule set and the language of the reasons.
    community_ids
        Only these communities.
    parts, alternatives, seed
        Options of the ``split`` task.
    connect_timeout
        Seconds to wait for a remote scheduler.
    **read_options
        Passed to :func:`gis.io.read_project` when ``source`` is a path.

    Returns
    -------
    BatchResult

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached.
    DependencyMissingError
        If the dask backend is asked for and dask or distributed is not installed.

    Examples
    --------
    >>> from gis.datasets.synthetic import make_city
    >>> result = run_batch(make_city(4_000, n_communities=2, seed=1), task="check")
    >>> result.communities["status"].tolist()
    ['small', 'small']
    """
    started = time.perf_counter()
    if task not in TASKS:
        msg = N_("Unknown batch task {task}; use one of: {choices}.")
        raise BatchError(msg, task=task, choices=", ".join(TASKS))
    if scheduler is not None:
        backend = "dask"
    if backend not in BACKENDS:
        msg = N_("Unknown batch backend {backend}; use one of: {choices}.")
        raise BatchError(msg, backend=backend, choices=", ".join(BACKENDS))
    rules = rules or get_preset()
    options = BatchOptions(
        rules=rules, lang=lang, parts=parts, alternatives=alternatives, seed=seed
    )
    loaded = _as_loaded(source, rules=rules, lang=lang, read_options=read_options)
    checked = loaded.communities
    if task == "check":
        ids = tuple(sorted(checked["community_id"].astype(str)))
        return BatchResult(
            task=task,
            community_ids=ids,
            communities=checked,
            backend="serial",
            seconds=time.perf_counter() - started,
        )
    wanted = community_ids
    if task == "split" and wanted is None:
        wanted = (
            checked.loc[checked["status"].isin(_SPLIT_STATUSES), "community_id"]
            .astype(str)
            .tolist()
        )
    client, cluster = None, None
    if backend == "dask":  # connect first: a planner hears about a bad address at once
        client, cluster = _dask_client(scheduler, _workers(n_jobs), connect_timeout)
    try:
        tasks = _tasks_from(
            loaded, community_ids=wanted, use_dask=backend == "dask", centres=task == "split"
        )
        if task == "grids":
            _check_zones(tasks)
        root = Path(checkpoint) if checkpoint is not None else None
        # the key (a hash of every input row) only names a checkpoint
        keyed = [(t, t.key(task, options) if root is not None else "") for t in tasks]
        results: dict[str, Frames] = {}
        resumed: list[str] = []
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
            for t, key in keyed:
                saved = _load(root, task, t.community_id, key)
                if saved is not None:
                    results[t.community_id] = saved
                    resumed.append(t.community_id)
        pending = [(t, key) for t, key in keyed if t.community_id not in results]
        if progress is not None and hasattr(progress, "update"):
            if getattr(progress, "total", 0) is None:
                progress.total = len(keyed)
            progress.update(len(resumed))
        computed: list[str] = []
        stream: Iterable[tuple[str, str, Frames]]
        if not pending:
            stream = ()
        elif backend == "dask":
            stream = _dask(pending, task, options, client)
        elif backend == "joblib" and _workers(n_jobs) > 1 and len(pending) > 1:
            stream = _joblib(pending, task, options, _workers(n_jobs))
        else:
            stream = _serial(pending, task, options)
        try:
            for community_id, key, frames in stream:
                if root is not None:
                    _save(root, task, community_id, key, frames)
                results[community_id] = frames
                computed.append(community_id)
                _notify(progress, community_id)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return BatchResult(
        task=task,
        community_ids=tuple(sorted(t.community_id for t in tasks)),
        communities=checked,
        resumed=tuple(resumed),
        computed=tuple(computed),
        backend=backend,
        seconds=time.perf_counter() - started,
        **_collect(task, results),
    )
