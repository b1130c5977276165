"""N processes on one project for a while: import + summarize + infer + reviewer edits at once.

Each process loops: re-import the train file, alternating between two versions whose gold
differs on every record (so every import really writes, under the same lock as the edits:
an import that read a row before an edit committed would write the file's gold over it),
start a summarize and an infer job (a second job on a busy split is
refused, which is expected), and save gold edits on the records it owns, which every
import's plan must keep (a conflict is expected, a silent loss is not).
At the end it checks the project: records lost or duplicated, edits lost, and provider
calls per record (every record summarized and inferred exactly once across all processes).
Target (issue 8): 0 failed, 0 lost, 0 duplicated, calls per record 1.0.

    .venv/bin/python benchmarks/concurrency.py [--processes 4] [--seconds 60] [--records 40]
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from roleext.backends import Completion, OfflineBackend  # noqa: E402
from roleext.errors import ConflictError, JobBusyError  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.jobs import Job, JobSpec  # noqa: E402
from roleext.runs import RunBook  # noqa: E402
from roleext.sample import SAMPLE_TRAIN  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402

CALL_SECONDS = 0.02
"""Each offline call is slowed to this, so that jobs overlap as they would with a real model."""


class CountingBackend(OfflineBackend):
    """The offline backend, slowed a little, counting its calls per kind."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = {"summarize": 0, "extract": 0}
        self._lock = threading.Lock()  # jobs call from several threads

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls[kind] += 1
        time.sleep(CALL_SECONDS)

    def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
        self._count("summarize")
        return super().summarize(chat, template, timeout=timeout)

    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        self._count("extract")
        return super().extract(model_input, chat, instruction, timeout=timeout)


UNEDITED_EVERY = 5
"""Every fifth record is edited by nobody: imports change its gold back and forth."""


def train_file(records: int, version: int) -> bytes:
    """`records` distinct chats with gold, made from the project's sample; the two versions
    differ in one gold value of every record."""
    sample = json.loads(SAMPLE_TRAIN.read_text("utf-8"))
    out = []
    for n in range(records):
        record = copy.deepcopy(sample[n % len(sample)])
        record["chat_text"] += f"\n王勇7：第{n}号群，收到"
        record["infos"][0]["竞品信息"] = f"第{version}版"
        out.append(record)
    return json.dumps(out, ensure_ascii=False).encode()


def worker(db: str, files: list[bytes], me: int, processes: int, seconds: float, results: Any) -> None:
    outcome: dict[str, Any] = {"worker": me, "failed": None, "jobs": 0, "refused": 0, "imports": 0,
                               "edits": {}, "conflicts": 0, "calls": {}}
    try:
        store = ProjectStore(db)
        backend = CountingBackend()
        versions = [load_chat_file(data, split="train") for data in files]
        deadline = time.monotonic() + seconds
        round_ = 0
        while time.monotonic() < deadline:
            round_ += 1
            store.import_chat_file(versions[(round_ + me) % 2], confirmed=True)
            outcome["imports"] += 1
            for kind in ("summarize", "infer"):
                # Inference resumes the latest run (one run in all, as a crashed job would); the
                # first job, finding none, starts it.
                spec = JobSpec(kind, "train", concurrency=2, input_source="chat",  # type: ignore[arg-type]
                               resume=kind == "infer" and RunBook(store).latest("train") is not None)
                try:
                    Job(store, backend, spec).run()
                    outcome["jobs"] += 1
                except JobBusyError:
                    outcome["refused"] += 1
            for record in store.iter_records("train"):
                if (record.index - 1) % UNEDITED_EVERY == 0 or record.index % processes != me:
                    continue
                gold = copy.deepcopy(record.gold)
                gold[0]["跟进计划-具体事项"] = f"worker {me} round {round_}"
                try:
                    store.update_gold(record.id, gold, record.version, author=f"worker-{me}")
                    outcome["edits"][record.id] = gold[0]["跟进计划-具体事项"]
                except ConflictError:
                    outcome["conflicts"] += 1
        outcome["calls"] = backend.calls
    except Exception:
        outcome["failed"] = traceback.format_exc()
    results.put(outcome)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--records", type=int, default=40)
    args = parser.parse_args()

    db = str(Path(tempfile.mkdtemp(prefix="roleext-concurrency-")) / "project.db")
    files = [train_file(args.records, version) for version in (1, 2)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    started = time.monotonic()
    workers = [context.Process(target=worker, args=(db, files, n, args.processes, args.seconds, results))
               for n in range(args.processes)]
    for process in workers:
        process.start()
    outcomes = [results.get(timeout=args.seconds + 600) for _ in workers]
    for process in workers:
        process.join()
    wall = time.monotonic() - started

    store = ProjectStore(db)
    positioned = list(store.iter_records("train"))
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM records")).scalar_one()
        summaries = conn.execute(text("SELECT count(*) FROM summaries")).scalar_one()
        predictions = conn.execute(text("SELECT count(*) FROM predictions")).scalar_one()
        runs = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
    by_id = {r.id: r for r in positioned}
    edits_lost = sum(1 for o in outcomes for rid, value in o["edits"].items()
                     if by_id[rid].gold[0]["跟进计划-具体事项"] != value)
    failed = [o for o in outcomes if o["failed"]]
    calls = {kind: sum(o["calls"].get(kind, 0) for o in outcomes) for kind in ("summarize", "extract")}

    print(f"processes run: {len(outcomes)}, failed: {len(failed)}  ({wall:.0f} s)")
    for o in failed:
        print(f"worker {o['worker']} failed:\n{o['failed']}", file=sys.stderr)
    print(f"imports: {sum(o['imports'] for o in outcomes)}, jobs run: {sum(o['jobs'] for o in outcomes)}, "
          f"jobs refused (split busy): {sum(o['refused'] for o in outcomes)}")
    print(f"records: {len(positioned)} of {args.records}, lost: {args.records - len(positioned)}, "
          f"duplicated: {rows - args.records}")
    print(f"summaries: {summaries}, predictions: {predictions} in {runs} inference run(s) (of {args.records} each)")
    flips = sum(1 for r in positioned if (r.index - 1) % UNEDITED_EVERY == 0
                and r.gold[0]["竞品信息"] in ("第1版", "第2版"))
    print(f"gold following the file on unedited records: {flips} of {len(positioned[::UNEDITED_EVERY])}")
    print(f"reviewer edits saved: {sum(len(o['edits']) for o in outcomes)} (last per record checked), "
          f"conflicts: {sum(o['conflicts'] for o in outcomes)}, edits lost: {edits_lost}")
    print(f"provider calls: summarize {calls['summarize']}, infer {calls['extract']}; calls per record: "
          f"{calls['summarize'] / args.records:.2f} summarize, {calls['extract'] / args.records:.2f} infer")


if __name__ == "__main__":
    main()
