"""`python -m roleext`: the same project store and rules as the app, from a terminal.

The subcommands and their output are a contract (see README): scripts rely on `validate`
exiting 2 with one problem a line, and on `score` printing `score: X.XXXX` last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import BinaryIO

from roleext.errors import InvalidFileError, RoleextError
from roleext.exports import (
    ExportReport,
    Repeat,
    alpaca_dataset_info,
    export_alpaca,
    export_submission,
    export_test_csv,
    export_train_jsonl,
)
from roleext.io import guess_kind, load_chat_file, load_submission, parse_items, read_source, summarize_file
from roleext.schema import Customer
from roleext.scoring import baselines, format_report, score_predictions
from roleext.store import ProjectStore

EXIT_INVALID = 2
EXIT_ERROR = 1


def _repeat(value: str) -> Repeat:
    if value == "auto":
        return "auto"
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m roleext", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="project database: a path or SQLAlchemy URL "
                        "(default $ROLEEXT_DB, else ./roleext.db)")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", default=argparse.SUPPRESS, help="as above, after the subcommand")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a train, test, submission or JSONL file")
    validate.add_argument("file", type=Path)

    imp = commands.add_parser("import", parents=[db], help="import train.json or test_data.json")
    imp.add_argument("file", type=Path)
    imp.add_argument("--split", choices=["train", "test"], help="default: guessed from the content")

    export = commands.add_parser("export", parents=[db], help="write a file for the platform")
    export.add_argument("kind", choices=["train-jsonl", "alpaca", "test-csv", "submission"])
    export.add_argument("out", type=Path)
    export.add_argument("--repeat", type=_repeat, default="auto",
                        help="train-jsonl: auto (fewest repeats reaching 1,500 rows) or N")
    export.add_argument("--split", choices=["train", "test"], default="test",
                        help="submission: whose predictions to write (default test)")
    export.add_argument("--input", choices=["summary", "chat"], default="summary", dest="source",
                        help="what the model reads: the reviewed summary (default) or the chat")
    export.add_argument("--instruction", help="fine-tuning instruction (default: the recipe's)")

    score = commands.add_parser("score", help="score predictions with the competition metric")
    score.add_argument("gold", type=Path, help="a train-format file with gold infos")
    score.add_argument("pred", type=Path, help="a submit.json or a train-format file")
    score.add_argument("--json", action="store_true", help="also print the report as one JSON line")
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    summary = summarize_file(args.file)
    print(summary.line())
    for problem in [*summary.warnings, *summary.lints]:
        print(problem, file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    chat_file = load_chat_file(args.file, split=args.split)
    for problem in [*chat_file.warnings, *chat_file.lints]:
        print(problem, file=sys.stderr)
    with closing(ProjectStore(args.db)) as store:
        print(store.import_chat_file(chat_file).line())
    return 0


def _write_atomically(out: Path, write: Callable[[BinaryIO], ExportReport]) -> ExportReport:
    """Write to a side file and move it into place, so a failed export leaves no half file."""
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as handle:
            report = write(handle)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return report


def cmd_export(args: argparse.Namespace) -> int:
    options = {"source": args.source}
    if args.instruction is not None and args.kind in ("train-jsonl", "alpaca"):
        options["instruction"] = args.instruction
    with closing(ProjectStore(args.db)) as store:
        if args.kind == "train-jsonl":
            report = _write_atomically(args.out, lambda f: export_train_jsonl(
                store, f, repeat=args.repeat, **options))
        elif args.kind == "alpaca":
            report = _write_atomically(args.out, lambda f: export_alpaca(store, f, **options))
            info_path = args.out.with_name("dataset_info.json")
            info = json.loads(info_path.read_text("utf-8")) if info_path.exists() else {}
            info.update(alpaca_dataset_info(args.out.name))
            info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), "utf-8")
        elif args.kind == "test-csv":
            report = _write_atomically(args.out, lambda f: export_test_csv(store, f, **options))
        else:
            report = _write_atomically(args.out, lambda f: export_submission(store, f, args.split))
    for line in report.lines():
        print(line)
    print(f"wrote {args.out}")
    return 0


def _predictions(path: Path) -> dict[int, list[Customer]]:
    data, name = read_source(path)
    if guess_kind(parse_items(data, name)) == "submission":
        submission = load_submission(data)
        for problem in submission.warnings:
            print(problem, file=sys.stderr)
        return submission.infos_by_index
    return {r.index: r.infos for r in load_chat_file(data).records}


def cmd_score(args: argparse.Namespace) -> int:
    gold_file = load_chat_file(args.gold, split="train")
    gold = {r.index: r.infos for r in gold_file.records}
    predicted = _predictions(args.pred)
    unknown = sorted(set(predicted) - set(gold))
    if unknown:
        print(f"warning: {len(unknown)} predictions have no gold record (index {unknown[0]}...)",
              file=sys.stderr)
    report = score_predictions(gold, predicted)
    base = baselines(gold)
    if args.json:
        print(json.dumps({
            "score": report.score, "records": report.records, "skipped": report.skipped,
            "baselines": base, "method": report.method,
            "fields": [{"field": f.field, "weight": f.weight, "earned": f.earned,
                        "accuracy": f.accuracy} for f in report.fields],
        }, ensure_ascii=False))
        print(f"score: {report.score:.4f}")
    else:
        print("\n".join(format_report(report, base)))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": cmd_validate, "import": cmd_import, "export": cmd_export, "score": cmd_score,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InvalidFileError as exc:
        print(exc)
        return EXIT_INVALID
    except RoleextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
