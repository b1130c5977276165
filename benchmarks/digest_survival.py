"""How many gold values found verbatim in a chat survive into its offline digest.

Target (issue 3): 99% or more, every digest within its budget. Reads ../shared/data/train.json
when it is there, else the project's sample.

    .venv/bin/python benchmarks/digest_survival.py [FILE] [--budget 7000] [--show-missing]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from roleext.cleaning import clean_chat, learn_profile  # noqa: E402
from roleext.digest import DEFAULT_BUDGET, make_digest  # noqa: E402
from roleext.io import load_chat_file  # noqa: E402
from roleext.sample import SAMPLE_TRAIN  # noqa: E402
from roleext.support import unsupported  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "train.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=SHARED if SHARED.exists() else SAMPLE_TRAIN)
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    parser.add_argument("--show-missing", action="store_true")
    args = parser.parse_args()

    records = load_chat_file(args.file).records
    profile = learn_profile(r.chat_text for r in records)
    verbatim = kept = over = 0
    long_verbatim = long_kept = 0
    lost: Counter[str] = Counter()
    before = cleaned = 0
    for record in records:
        digest = make_digest(record.chat_text, args.budget, profile)
        before += digest.chars_before
        cleaned += digest.chars_cleaned
        over += len(digest.text) > args.budget
        in_chat = unsupported(record.infos, "", record.chat_text)  # every gold value the chat holds
        missing = unsupported(record.infos, digest.text, record.chat_text)
        verbatim += len(in_chat)
        kept += len(in_chat) - len(missing)
        if len(record.chat_text) > 8_000:
            long_verbatim += len(in_chat)
            long_kept += len(in_chat) - len(missing)
        for value in missing:
            lost[value.field] += 1
            if args.show_missing:
                print(f"record {record.index}: {value.field} = {value.value!r} lost")
    print(f"file: {args.file} ({len(records)} records), budget {args.budget} characters")
    print(f"gold values verbatim in the chat: {verbatim}; kept by the digest: {kept} ({kept / max(verbatim, 1):.1%})")
    print(f"  in chats over 8,000 characters: {long_kept}/{long_verbatim} ({long_kept / max(long_verbatim, 1):.1%})")
    print(f"digests over budget: {over}")
    print(f"characters: {before:,} in the chats, {cleaned:,} after cleaning ({cleaned / max(before, 1):.1%}), "
          f"{len(profile.boilerplate)} boilerplate texts learnt")
    for limit in (8_000, 12_000):
        still = sum(clean_chat(r.chat_text, profile).chars_after > limit for r in records)
        print(f"chats still over {limit:,} characters after cleaning: {still}")
    if lost:
        print("lost by field: " + ", ".join(f"{k} {n}" for k, n in lost.most_common()))


if __name__ == "__main__":
    main()
