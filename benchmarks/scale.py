"""roleext at 100,000 chats: import time and peak memory, and search time, against a 29-record project.

Builds a train file of N chats (~6.5 KB each, ~650 MB at 100,000) by varying the real chats of
../shared/data (or the sample data where that is absent): a slice of a chat, a line with a
phone number of its own, the source record's gold. Each import runs in a fresh subprocess,
so its peak resident memory (getrusage) is the import's alone. Targets (issue 13): import of
100,000 chats <= 60 s and peak memory <= 1 GB; search for a phone number and for a Chinese
name across 100,000 chats <= 200 ms. SQLite always; PostgreSQL too where ROLEEXT_TEST_POSTGRES
names a server.

    .venv/bin/python benchmarks/scale.py [--records 100000] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roleext.sample import SAMPLE_TEST, SAMPLE_TRAIN  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CHAT_CHARS = 3_200
"""Characters taken from a source chat: ~6.5 KB of UTF-8 with gold, near the issue's 700 MB for 100,000."""
SMALL = 29
NAME = "欧阳明轩"
"""A Chinese name only one chat holds."""


def phone(n: int) -> str:
    return f"1{3 + n % 7}{n * 7919 % 10**9:09d}"


def sources() -> list[dict[str, Any]]:
    files = [SHARED / "train.json", SHARED / "test_data.json"]
    if not all(f.exists() for f in files):
        files = [SAMPLE_TRAIN, SAMPLE_TEST]
    return [item for f in files for item in json.loads(f.read_text("utf-8"))]


def build_file(path: Path, records: int, seed: int = 13) -> dict[str, str]:
    """Write a train file of `records` varied chats; the queries to search and the record each finds."""
    rng = random.Random(seed)
    chats = sources()
    with_gold = [c for c in chats if c.get("infos")]
    target = records // 2
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for n in range(1, records + 1):
            source = rng.choice(chats)
            text = source["chat_text"]
            start = rng.randrange(0, max(1, len(text) - CHAT_CHARS))
            chat = text[start:start + CHAT_CHARS].strip() or text
            line = f"\n客户{n % 97}：我的电话是{phone(n)}，有事打给我"
            if n == target:
                line += f"\n客户{n % 97}：我是{NAME}，负责采购"
            infos = source.get("infos") or rng.choice(with_gold)["infos"]
            out.write(("," if n > 1 else "") + json.dumps({"chat_text": chat + line, "infos": infos},
                                                            ensure_ascii=False))
        out.write("]")
    return {"phone": phone(target), "name": NAME, "target": str(target)}


def child_import(url: str, path: Path, phone_query: str) -> None:
    """Run in a subprocess: import the file, search it before its records join the index (SQLite
    scans them then), catch the index up; print seconds and peak memory as JSON."""
    from roleext.io import load_chat_file
    from roleext.store import ProjectStore

    store = ProjectStore(url)
    start = time.perf_counter()
    chat_file = load_chat_file(path)
    loaded = time.perf_counter()
    report = store.import_chat_file(chat_file)
    done = time.perf_counter()
    store.search_records(phone_query, "train")
    searched = time.perf_counter()
    for _count in store.index_for_search():
        pass
    indexed = time.perf_counter()
    store.close()
    print(json.dumps({"load_s": loaded - start, "store_s": done - loaded, "total_s": done - start,
                      "unindexed_search_ms": (searched - done) * 1000, "index_s": indexed - searched,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "added": report.added}))


def run_import(url: str, path: Path, phone_query: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child-import", url, str(path), phone_query],
                            capture_output=True,
                            text=True, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def time_search(url: str, query: str, runs: int = 7) -> tuple[float, float, int]:
    """(first, median of the rest) milliseconds of `search_records(query, "train")`, and the hits."""
    from roleext.store import ProjectStore

    store = ProjectStore(url)
    times = []
    hits = 0
    for _ in range(runs):
        start = time.perf_counter()
        hits = len(store.search_records(query, "train"))
        times.append((time.perf_counter() - start) * 1000)
    store.close()
    return times[0], statistics.median(times[1:]), hits


@contextmanager
def database(kind: str, folder: Path, label: str) -> Iterator[str]:
    if kind == "sqlite":
        yield str(folder / f"{label}.db")
        return
    from tests.postgres import fresh_database

    with fresh_database(os.environ["ROLEEXT_TEST_POSTGRES"], prefix=f"roleext_scale_{label}") as url:
        yield url


def measure(kind: str, folder: Path, files: dict[int, tuple[Path, dict[str, str]]]) -> dict[int, dict[str, Any]]:
    figures: dict[int, dict[str, Any]] = {}
    for size, (path, queries) in files.items():
        with database(kind, folder, f"n{size}") as url:
            imported = run_import(url, path, queries["phone"])
            searches = {what: time_search(url, queries[what]) for what in ("phone", "name")}
            searches["2 chars"] = time_search(url, "王勇", runs=3)
        figures[size] = {**imported, "search": searches}
    return figures


def report(kind: str, figures: dict[int, dict[str, Any]], big: int) -> None:
    small = figures[SMALL]
    large = figures[big]
    print(f"\n== {kind}")
    for size in (SMALL, big):
        f = figures[size]
        print(f"{size:>7} records: import {f['total_s']:.1f} s (read+validate {f['load_s']:.1f} s, store "
              f"{f['store_s']:.1f} s), peak memory {f['peak_mb']:.0f} MB; then a phone search before the "
              f"index caught up {f['unindexed_search_ms']:.0f} ms, index catch-up {f['index_s']:.1f} s")
        for what, (first, median, hits) in f["search"].items():
            print(f"{'':>16}search {what}: first {first:.1f} ms, median {median:.1f} ms ({hits} hits)")
    for what in ("phone", "name", "2 chars"):
        ratio = large["search"][what][1] / max(small["search"][what][1], 0.01)
        print(f"search {what}: {large['search'][what][1]:.1f} ms at {big:,} vs {small['search'][what][1]:.1f} ms "
              f"at {SMALL}: ratio {ratio:.1f}x" + ("" if what == "2 chars" else " (target <= 200 ms)"))
    print(f"import at {big:,}: {large['total_s']:.1f} s (target <= 60 s), peak {large['peak_mb']:.0f} MB "
          f"(target <= 1024 MB); per record {1000 * large['total_s'] / big:.2f} ms vs "
          f"{1000 * small['total_s'] / SMALL:.2f} ms at {SMALL}")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child-import":
        child_import(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the files in this folder and keep them")
    args = parser.parse_args()
    holder = nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="roleext-scale-")
    with holder as name:
        folder = Path(name)
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for size in (SMALL, args.records):
            path = folder / f"train_{size}.json"
            start = time.perf_counter()
            files[size] = (path, build_file(path, size))
            print(f"built {path.name}: {size:,} chats, {path.stat().st_size / 2**20:.0f} MB "
                  f"in {time.perf_counter() - start:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (other work skews timings)")
        kinds = ["sqlite"] + (["postgresql"] if os.environ.get("ROLEEXT_TEST_POSTGRES") else [])
        for kind in kinds:
            report(kind, measure(kind, folder, files), args.records)


if __name__ == "__main__":
    main()
