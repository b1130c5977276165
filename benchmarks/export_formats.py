"""Export a synthetic project of 100,000 records in every format and print time and peak memory.

The project (train and test, about 7 KB a chat as in benchmarks/import_export.py, every
train record summarized, a tenth reviewed) is written straight into the database, then
each export runs in a fresh process so its peak RSS is its own. A format that streams
keeps its peak flat in the number of records: compare `--records 10000` with the default.

    .venv/bin/python benchmarks/export_formats.py [--records 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_export import make_chats  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from roleext.exports import export_alpaca, export_train_jsonl  # noqa: E402
from roleext.formats.chat_rows import export_messages, export_sharegpt  # noqa: E402
from roleext.formats.dataset import export_dataset  # noqa: E402
from roleext.formats.hf import export_hf  # noqa: E402
from roleext.matching import chat_hash, dumps  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402

FORMATS = ("dataset", "messages", "sharegpt", "hf", "train-jsonl", "alpaca")
TEST_SHARE = 0.3
"""The share of records in the test split (55 of 184 in the public data)."""
BATCH = 2_000


def build(db: Path, count: int) -> None:
    """Records, summaries and some reviews written in bulk: the setup is not what is measured."""
    store = ProjectStore(db)
    rng = random.Random(11)
    now = datetime.now(UTC)
    tests = int(count * TEST_SHARE)
    with store.engine.begin() as conn:
        for start in range(0, count, BATCH):
            chats = make_chats(min(BATCH, count - start), seed=start)
            rows = []
            for n, chat in enumerate(chats, start=start):
                split = "test" if n < tests else "train"
                text = str(chat["chat_text"]) + f"@{n}"
                gold = dumps(chat["infos"] if split == "train" else [])
                status = rng.choices(["pending", "accepted", "needs-fix", "rejected"], [70, 20, 5, 5])[0]
                rows.append({"split": split, "idx": n + 1 if split == "test" else n - tests + 1,
                             "chat_text": text, "chat_hash": chat_hash(text), "gold_imported": gold,
                             "gold": gold, "status": status, "version": 1, "created_at": now, "updated_at": now})
            ids = conn.execute(insert(store.records).returning(store.records.c.id, store.records.c.split,
                                                               store.records.c.status), rows).all()
            summaries = [
                {"record_id": row.id, "text": f"客户基本信息：记录{row.id}\n" + "客户意向：咨询会话存档。" * 40,
                 "edited_text": None, "backend": "offline", "model": "bench", "prompt_hash": "bench",
                 "version": 1, "created_at": now, "updated_at": now} for row in ids if row.split == "train"]
            if summaries:
                conn.execute(insert(store.summaries), summaries)
            reviewed = [row for row in ids if row.status != "pending"]
            if reviewed:
                conn.execute(insert(store.history), [
                    {"record_id": row.id, "target": "status", "author": "ann", "at": now,
                     "before": dumps("pending"), "after": dumps(row.status)} for row in reviewed])
    store.close()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export(kind: str, db: Path, out: Path) -> dict[str, float]:
    store = ProjectStore(db)
    start = time.perf_counter()
    if kind == "hf":
        out.mkdir()
        report = export_hf(store, out)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    else:
        writers = {
            "dataset": lambda f: export_dataset(store, f, scope="all", with_review=True),
            "messages": lambda f: export_messages(store, f),
            "sharegpt": lambda f: export_sharegpt(store, f),
            "train-jsonl": lambda f: export_train_jsonl(store, f, repeat=1),
            "alpaca": lambda f: export_alpaca(store, f),
        }
        with out.open("wb") as handle:
            report = writers[kind](handle)
        size = out.stat().st_size
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "rows": report.rows,
            "mb_written": size / 2**20}


def run_child(*args: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the database")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, db, out = args.child
        result = {} if kind == "build" else export(kind, Path(db), Path(out))
        if kind == "build":
            build(Path(db), int(out))
        print(json.dumps(result))
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="roleext-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    if not db.exists():
        start = time.perf_counter()
        run_child("build", str(db), str(args.records))
        print(f"synthetic project: {args.records:,} records, {db.stat().st_size / 2**20:,.0f} MB database "
              f"(built in {time.perf_counter() - start:.0f} s)")
    for kind in args.formats:
        out = work / f"out-{kind}"
        figures = run_child(kind, str(db), str(out))
        print(f"{kind:<12} wall {figures['seconds']:7.2f} s   peak RSS {figures['peak_mb']:7.1f} MB   "
              f"{figures['rows']:>9,.0f} rows   {figures['mb_written']:8.1f} MB written")
        shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
