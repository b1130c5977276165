"""How many worked examples fit beside each train record's input, and how long the prompts get.

Leave-one-out over the train file: each record is the input, the others the example pool,
at a model's character budget (default an 8K-token Spark model: (8,192 - 2,048) x 1.5).
No model is called. Reads ../shared/data/train.json when it is there, else the sample.

    .venv/bin/python benchmarks/few_shot_fit.py [FILE] [--k 3] [--max-input 9216] [--input chat|summary]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roleext.backends.openai_compat import OpenAICompatBackend, OpenAISettings  # noqa: E402
from roleext.cleaning import learn_profile  # noqa: E402
from roleext.fewshot import ExamplePool  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.jobs import Job, JobSpec  # noqa: E402
from roleext.sample import SAMPLE_TRAIN  # noqa: E402
from roleext.store import ProjectStore  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "train.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=SHARED if SHARED.exists() else SAMPLE_TRAIN)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-input", type=int, default=9_216)
    parser.add_argument("--input", choices=["chat", "summary"], default="chat")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        store = ProjectStore(Path(folder) / "fit.db")
        store.import_chat_file(load_chat_file(args.file))
        if args.input == "summary":
            from roleext.backends import OfflineBackend
            Job(store, OfflineBackend(), JobSpec("summarize", "train")).run()
        backend = OpenAICompatBackend(OpenAISettings("http://127.0.0.1:9/v1", "base"))  # never called
        job = Job(store, backend, JobSpec("infer", "train", input_source=args.input, few_shot=args.k,
                                          max_input_chars=args.max_input))
        start = time.perf_counter()
        job.profile = learn_profile(store.iter_all_chats())
        job.examples = ExamplePool.of(store.iter_records("train"), args.input, job.profile)
        pool_seconds = time.perf_counter() - start
        counts: Counter[int] = Counter()
        lengths, seconds = [], []
        for record in store.iter_records("train"):
            begin = time.perf_counter()
            prompt = job.prompt_for(record) or ""
            seconds.append(time.perf_counter() - begin)
            counts[prompt.count("****示例") // 2] += 1
            lengths.append(len(prompt))
        store.close()
    print(f"{sum(counts.values())} records, pool of {len(job.examples)} built in {pool_seconds:.2f} s; "
          f"input {args.input}, budget {args.max_input:,} characters, k={args.k}")
    print("examples that fit: " + ", ".join(f"{n}: {counts[n]} records" for n in sorted(counts)))
    print(f"prompt characters (without the input): median {int(statistics.median(lengths)):,}, "
          f"max {max(lengths):,}; choosing took median {statistics.median(seconds) * 1000:.0f} ms a record")


if __name__ == "__main__":
    main()
