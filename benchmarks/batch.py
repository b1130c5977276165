"""200 summaries against the fake Spark server: 0.5 s latency, at most 8 requests a second.

With concurrency 8 the floor is 200 / 8 = 25 s (sequential calls would take 100 s). Target
(issue 3): wall time within 1.10 of the floor, no failed request, some answered 11202.

    .venv/bin/python benchmarks/batch.py [--requests 200] [--qps 8] [--latency 0.5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roleext.backends import SparkBackend, SparkSettings  # noqa: E402
from roleext.io import ChatFile, ChatRecord  # noqa: E402
from roleext.jobs import Job, JobSpec  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402
from tests import fake_spark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--qps", type=float, default=8.0)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    server = fake_spark.FakeSpark(delay=args.latency, max_per_second=int(args.qps),
                                  answer=lambda request: json.dumps({"summary": "ok"})).start()
    work = Path(tempfile.mkdtemp(prefix="roleext-batch-"))
    store = ProjectStore(work / "batch.db")
    records = [ChatRecord(i, f"客户{i}：你好，想了解会话存档 #{i}", []) for i in range(1, args.requests + 1)]
    store.import_chat_file(ChatFile("test", records))
    backend = SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                                         url=server.url, domain="generalv3"))
    spec = JobSpec("summarize", "test", concurrency=args.concurrency, qps=args.qps, timeout=10)
    start = time.monotonic()
    progress = Job(store, backend, spec).run()
    wall = time.monotonic() - start
    server.stop()

    floor = args.requests / args.qps
    print(f"requests: {args.requests}, latency {args.latency} s, limit {args.qps:g}/s, "
          f"concurrency {args.concurrency}")
    print(f"wall time: {wall:.2f} s; floor {floor:.1f} s; ratio {wall / floor:.3f} (target <= 1.10); "
          f"sequential would take {args.requests * args.latency:.0f} s")
    print(f"failed records: {progress.failed} (target 0); answered 11202 by the server: {server.rate_limited}; "
          f"calls received: {len(server.requests) + server.rate_limited}")


if __name__ == "__main__":
    main()
