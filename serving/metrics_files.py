"""Prometheus multiprocess files of an exited worker, folded into one archive file per kind (the folder stays small).

Counters and histograms of a dead worker must stay in the totals, so they cannot just be deleted; left alone, every
worker restart adds files that /metrics reads forever. Runs in the gunicorn master (child_exit).
"""

from __future__ import annotations

from pathlib import Path

# How a gauge's values from several processes combine, by multiprocess mode ("all" keeps one series per pid).
_GAUGE_COMBINE = {
    "sum": lambda old, new: (old[0] + new[0], max(old[1], new[1])),
    "max": lambda old, new: old if old[0] >= new[0] else new,
    "min": lambda old, new: old if old[0] <= new[0] else new,
    "mostrecent": lambda old, new: old if old[1] >= new[1] else new,
}
_ADD = _GAUGE_COMBINE["sum"]


def fold_dead_worker(directory: str | Path, pid: int) -> None:
    """Drop the worker's live gauges, add its other values into `*_archive.db` files, delete its files."""
    from prometheus_client import multiprocess
    from prometheus_client.mmap_dict import MmapedDict

    multiprocess.mark_process_dead(pid, str(directory))
    for path in sorted(Path(directory).glob(f"*_{pid}.db")):
        parts = path.name[: -len(".db")].split("_")
        if parts[0] == "gauge":
            combine = _GAUGE_COMBINE.get(parts[1])
            if combine is None:
                continue  # a per-process gauge ("all"): its series names the pid, nothing to fold into
            archive = path.with_name(f"gauge_{parts[1]}_archive.db")
        else:
            combine, archive = _ADD, path.with_name(f"{parts[0]}_archive.db")
        target = MmapedDict(str(archive))
        try:
            existing = {key: (value, stamp) for key, value, stamp in target.read_all_values()}
            for key, value, stamp, _ in MmapedDict.read_all_values_from_file(str(path)):
                old = existing.get(key)
                target.write_value(key, *(combine(old, (value, stamp)) if old else (value, stamp)))
        finally:
            target.close()
        path.unlink()
