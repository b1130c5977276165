"""Import and export a synthetic project of 10,000 chats (about 70 MB) and print the figures.

Targets (issue 2, on the 2-core CI machine): import under 15 s, train JSONL export under
10 s, peak memory under 1 GB. Each phase runs in a fresh process so its peak RSS is its own.

    .venv/bin/python benchmarks/import_export.py [--records 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from roleext.exports import export_train_jsonl  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.sample import SAMPLE_TRAIN  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402

TARGETS = {"import": 15.0, "export-train-jsonl": 10.0}
PEAK_TARGET_MB = 1024


def make_chats(count: int, seed: int = 7) -> list[dict[str, object]]:
    """Chats built from the sample's lines, renamed and reshuffled, about 7 KB each."""
    rng = random.Random(seed)
    sample = json.loads(SAMPLE_TRAIN.read_text("utf-8"))
    lines = [line for record in sample for line in record["chat_text"].splitlines()]
    chats = []
    for n in range(count):
        template = sample[n % len(sample)]
        target = rng.randint(700, 2_200)
        body, size = [], 0
        while size < target:
            line = rng.choice(lines)
            body.append(line)
            size += len(line) + 1
        suffix = f"#{n}"  # every chat distinct, as real ones are
        chats.append({"chat_text": template["chat_text"] + "\n" + "\n".join(body) + suffix,
                      "infos": template["infos"]})
    return chats


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_import(data: Path, db: Path) -> dict[str, float]:
    start = time.perf_counter()
    chat_file = load_chat_file(data)
    store = ProjectStore(db)
    report = store.import_chat_file(chat_file)
    elapsed = time.perf_counter() - start
    assert report.added == len(chat_file.records)
    return {"seconds": elapsed, "peak_mb": peak_mb(), "records": report.added}


def seed_summaries(db: Path) -> None:
    """Give every record a summary (not timed): as if a summarize job had run."""
    store = ProjectStore(db)
    now = datetime.now(UTC)
    rows = [{"record_id": r.id, "text": f"客户基本信息：记录{r.index}\n" + "客户意向：咨询会话存档。" * 40,
             "edited_text": None, "backend": "offline", "model": "bench", "prompt_hash": "bench",
             "version": 1, "created_at": now, "updated_at": now}
            for r in store.list_records("train")]
    with store.engine.begin() as conn:
        conn.execute(insert(store.summaries), rows)


def phase_export(db: Path, out: Path) -> dict[str, float]:
    store = ProjectStore(db)
    start = time.perf_counter()
    with out.open("wb") as handle:
        report = export_train_jsonl(store, handle)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "peak_mb": peak_mb(), "rows": report.rows,
            "mb_written": out.stat().st_size / 2**20}


def run_child(*args: str) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child", *args],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep its files")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        phase, *rest = args.child
        if phase == "import":
            result = phase_import(Path(rest[0]), Path(rest[1]))
        elif phase == "seed":
            seed_summaries(Path(rest[0]))
            result = {}
        else:
            result = phase_export(Path(rest[0]), Path(rest[1]))
        print(json.dumps(result))
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="roleext-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data, db = work / "train.json", work / "bench.db"
    for stale in work.glob("bench.db*"):
        stale.unlink()
    data.write_text(json.dumps(make_chats(args.records), ensure_ascii=False), "utf-8")
    print(f"synthetic project: {args.records} chats, {data.stat().st_size / 2**20:.1f} MB ({data})")

    imported = run_child("import", str(data), str(db))
    run_child("seed", str(db))
    exported = run_child("train-jsonl", str(db), str(work / "train.jsonl"))

    rows = [("import", imported), ("export-train-jsonl", exported)]
    for name, figures in rows:
        target = TARGETS.get(name)
        verdict = "" if target is None else (" OK" if figures["seconds"] < target else f" OVER {target:.0f} s")
        print(f"{name:<32} wall {figures['seconds']:6.2f} s   peak RSS {figures['peak_mb']:7.1f} MB{verdict}")
    peak = max(f["peak_mb"] for _, f in rows)
    print(f"peak memory of any phase: {peak:.1f} MB ({'OK' if peak < PEAK_TARGET_MB else 'OVER'} "
          f"the {PEAK_TARGET_MB} MB target)")
    print(f"train JSONL: {exported['rows']:.0f} rows, {exported['mb_written']:.1f} MB")


if __name__ == "__main__":
    main()
