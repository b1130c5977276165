"""Offline summarize of a synthetic project: one process against the backend's process pool.

Target (issue 13, on the 2-core CI machine): the pool at 1.8x the single-process rate or
better, and memory flat over 100,000 records (a job reads its split a batch at a time).
Each run is a fresh process on a fresh copy of the imported project, so its peak RSS is its
own; the pool's processes are reported apart (their largest peak).

    .venv/bin/python benchmarks/offline_jobs.py [--records 20000] [--db postgresql://...]

Other processes on the machine slow both runs alike, not their ratio, unless they come and
go mid-run: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_export import make_chats  # noqa: E402

from roleext.backends import OfflineBackend  # noqa: E402
from roleext.backends.offline import default_processes  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.jobs import Job, JobSpec  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402

TARGET_RATIO = 1.8


def peak_mb() -> float:
    """This process's own peak RSS (VmHWM): ru_maxrss would start from the parent's peak, as
    Linux carries it across the fork and exec that started this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_run(db: str, processes: int) -> dict[str, float]:
    """One summarize job over the train split; its rate and peak memory."""
    store = ProjectStore(db)
    start = time.perf_counter()
    progress = Job(store, OfflineBackend(processes=processes), JobSpec("summarize", "train")).run()
    elapsed = time.perf_counter() - start
    assert progress.failed == 0 and progress.done == progress.total, progress.line("summarize", "train")
    me, pool = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"records": progress.done, "seconds": elapsed, "rate": progress.done / elapsed,
            "peak_mb": peak_mb(), "pool_peak_mb": pool.ru_maxrss / 1024,
            "cpu": me.ru_utime + me.ru_stime, "pool_cpu": pool.ru_utime + pool.ru_stime}


def in_fresh_process(*args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--db", help="a PostgreSQL URL to run on (an empty database; default: SQLite files)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "run":
        print(json.dumps(phase_run(args.db, args.processes)))
        return

    cores = default_processes()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "train.json"
        data.write_text(json.dumps(make_chats(args.records), ensure_ascii=False), "utf-8")
        base = args.db or str(Path(folder) / "base.db")
        ProjectStore(base).import_chat_file(load_chat_file(data))
        print(f"{args.records:,} chats imported ({data.stat().st_size / 1e6:.0f} MB); {cores} cores; "
              f"load average {load()}")
        results = {}
        for label, processes in (("one process", 1), (f"pool of {cores}", cores)):
            if args.db:
                db = args.db
                with ProjectStore(db).engine.begin() as conn:  # the same project, not yet summarized
                    conn.exec_driver_sql("DELETE FROM summaries")
                    conn.exec_driver_sql("DELETE FROM record_tasks")
            else:
                db = str(Path(folder) / f"{processes}.db")
                shutil.copy(base, db)
            results[label] = result = in_fresh_process("--phase", "run", "--db", db, "--processes", str(processes))
            print(f"{label:>14}: {result['records']:,.0f} records in {result['seconds']:.1f} s = "
                  f"{result['rate']:,.0f} records/s; peak RSS {result['peak_mb']:.0f} MB"
                  + (f" (+ {result['pool_peak_mb']:.0f} MB each pool process)" if processes > 1 else "")
                  + f"; CPU {result['cpu']:.1f} s" + (f" + {result['pool_cpu']:.1f} s in the pool" if processes > 1
                                                       else ""))
        single, pooled = results["one process"], results[f"pool of {cores}"]
        ratio = pooled["rate"] / single["rate"]
        print(f"ratio: {ratio:.2f}x the single-process rate (target {TARGET_RATIO}x on 2 cores); "
              f"load average now {load()}")
        # On a machine others use, the scheduler shares the CPU among sessions, not processes:
        # the pool then cannot get more CPU than one process did. From CPU seconds, the ratio
        # with the cores to itself: the work of one process over the pool's longest share.
        bound = max(pooled["cpu"], (pooled["cpu"] + pooled["pool_cpu"]) / cores)
        print(f"from CPU seconds, with {cores} idle cores: {single['cpu'] / bound:.2f}x")


if __name__ == "__main__":
    main()
