"""`roleext` (or `python -m roleext`): the same project store and rules as the app, from a terminal.

The subcommands and their output are a contract (see README): scripts rely on `validate`
exiting 2 with one problem a line, and on `score` printing `score: X.XXXX` last. The log
(warnings by default, more with -v or -vv) goes to stderr beside the progress lines.
Messages are in the terminal's language (LANGUAGE, LC_ALL, LC_MESSAGES, LANG); --help is English.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO, NoReturn

from roleext.agreement import agreement
from roleext.annotation_import import import_annotations
from roleext.assignments import DEFAULT_OVERLAP, assign, parse_annotators
from roleext.backends import Backend
from roleext.backends.choice import BackendChoice
from roleext.backends.spark import check_spark_url
from roleext.chunk_rows import CHUNK_CHARS, CHUNK_OVERLAP, ChunkOptions
from roleext.errors import ImportRefusedError, InvalidFileError, RoleextError, UsageError
from roleext.evaluation import evaluate
from roleext.exports import (
    MAX_ROW_CHARS,
    ExportReport,
    Repeat,
    alpaca_dataset_info,
    export_alpaca,
    export_submission,
    export_test_csv,
    export_train_jsonl,
)
from roleext.filter_runs import filter_run_lines, make_filter_run
from roleext.formats.chat_rows import export_messages, export_sharegpt, sharegpt_dataset_info
from roleext.formats.dataset import SCOPES, export_dataset
from roleext.formats.hf import export_hf_folder
from roleext.formats.importing import load_import
from roleext.i18n import _, environment_language, using
from roleext.io import Split, guess_kind, load_chat_file, load_submission, parse_items, read_source, summarize_file
from roleext.jobs import Job, JobSpec
from roleext.progress import Progress
from roleext.prompts import DEFAULT_SUMMARY_PROMPT, describe_prompt
from roleext.redaction import RedactingFilter
from roleext.rule_report import rule_report_lines, store_rule_report
from roleext.rules import RULE_NAMES, unknown_rules
from roleext.runs import Run, RunBook
from roleext.schema import Customer
from roleext.scoring import ScoreReport, baselines, format_report, score_predictions
from roleext.store import ProjectStore
from roleext.users import UserBook, read_password, user_lines
from roleext.worker import serve as serve_worker

EXIT_INVALID = 2
EXIT_ERROR = 1
EXIT_INTERRUPTED = 128 + signal.SIGTERM


def _repeat(value: str) -> Repeat:
    if value == "auto":
        return "auto"
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected auto or a whole number, got {value!r}").format(
            value=value)) from None
    if number < 1:
        raise argparse.ArgumentTypeError(_("must be 1 or more"))
    return number


def _number(kind: type[int] | type[float], minimum: float, what: Callable[[], str]) -> Callable[[str], int | float]:
    def parse(value: str) -> int | float:
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(_("expected {what}, got {value!r}").format(
                what=what(), value=value)) from None
        if not number >= minimum:  # also refuses nan
            raise argparse.ArgumentTypeError(_("expected {what}, got {value}").format(what=what(), value=value))
        return number
    return parse


_positive_int = _number(int, 1, lambda: _("a whole number from 1"))
_count = _number(int, 0, lambda: _("a whole number from 0"))
_positive_float = _number(float, 1e-9, lambda: _("a number above 0"))


def _spark_url(value: str) -> str:
    try:
        return check_spark_url(value)
    except RoleextError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    """argparse whose refusals are one line (the usage is a --help away), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INVALID, _("error: {command}: {message} (see --help)").format(
            command=self.prog.removeprefix("python -m "), message=message) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="roleext", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more to stderr: -v what jobs do, -vv debug (default: warnings)")
    parser.add_argument("--db", help="project database: a path or SQLAlchemy URL "
                        "(default $ROLEEXT_DB, else ./roleext.db)")
    db = _Parser(add_help=False)
    db.add_argument("--db", default=argparse.SUPPRESS, help="as above, after the subcommand")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check a train, test, submission or JSONL file")
    validate.add_argument("file", type=Path)

    imp = commands.add_parser("import", parents=[db], help="import train.json or test_data.json")
    imp.add_argument("file", type=Path)
    imp.add_argument("--split", choices=["train", "test"], help="default: guessed from the content")
    imp.add_argument("--yes", action="store_true",
                     help="confirm an import that changes gold or takes records out of the split")
    imp.add_argument("--replace", action="store_true",
                     help="let a file with no gold replace a split that has gold (implies --yes)")
    imp.add_argument("--merge", action="store_true",
                     help="match the file's records by chat and keep the split's others (automatic for "
                     "fine-tuning rows and datasets exported --with-review)")

    imp.add_argument("--as", dest="as_annotator", metavar="NAME",
                     help="load the file's labels as NAME's annotations of the records whose chats it holds "
                     "(team mode; no record is added, no other annotator's labels change)")

    assign = commands.add_parser("assign", parents=[db], help="spread a split's unassigned records over annotators")
    assign.add_argument("--split", choices=["train", "test"], default="train")
    assign.add_argument("--to", required=True, metavar="A,B,C", help="the annotators' names, comma-separated")
    assign.add_argument("--overlap", type=float, default=DEFAULT_OVERLAP,
                        help=f"share of the records given to two annotators (default {DEFAULT_OVERLAP})")
    assign.add_argument("--seed", type=int, default=0, help="the same seed gives the same assignment (default 0)")

    agree = commands.add_parser("agreement", parents=[db],
                                help="per field, how often two annotators agree (share and Cohen's kappa)")
    agree.add_argument("--split", choices=["train", "test"], default="train")
    agree.add_argument("--json", action="store_true", help="print the table as one JSON object")

    export = commands.add_parser("export", parents=[db], help="write a file for the platform")
    export.add_argument("kind", choices=["train-jsonl", "chunks", "alpaca", "test-csv", "submission", *FORMAT_KINDS],
                        help="chunks: fine-tuning JSONL of chat chunks, each target keeping what its chunk holds")
    export.add_argument("out", type=Path, help="the file to write (hf: a new folder)")
    export.add_argument("--repeat", type=_repeat,
                        help="train-jsonl, chunks: auto (fewest repeats reaching 1,500 rows, the default) or N; "
                        "messages: N (default 1) or auto")
    export.add_argument("--split", choices=["train", "test"],
                        help="submission: whose predictions to write (default: the run's split, else test); "
                        "dataset: which split (default train)")
    export.add_argument("--run", type=_positive_int,
                        help="submission: the run to write (default: the chosen run, else the newest)")
    add_format_options(export)
    export.add_argument("--input", choices=["summary", "chat"], default="summary", dest="source",
                        help="what the model reads: the reviewed summary (default) or the chat")
    export.add_argument("--instruction", help="fine-tuning instruction (default: the recipe's)")
    export.add_argument("--chunk-chars", type=_positive_int, default=CHUNK_CHARS,
                        help=f"chunks: characters of chat a row holds at most (default {CHUNK_CHARS:,})")
    export.add_argument("--chunk-overlap", type=_count, default=CHUNK_OVERLAP,
                        help=f"chunks: characters repeated between chunks (default {CHUNK_OVERLAP})")
    export.add_argument("--escape-formulas", action="store_true",
                        help="test-csv: prefix a ' to cells a spreadsheet would run as formulas")

    for name, text in (("summarize", "summarize every chat of a split with an LLM or offline"),
                       ("infer", "extract the 21 fields of every record of a split")):
        job = commands.add_parser(name, parents=[db], help=text)
        add_job_options(job, default_split="train" if name == "summarize" else "test")
        job.add_argument("--overwrite-edits", action="store_true",
                         help=f"redo records whose {'summary' if name == 'summarize' else 'prediction'} a person "
                         "edited (the edit stays in history); by default they are kept")
        if name == "infer":
            job.add_argument("--input", choices=["summary", "chat"], default="summary", dest="source",
                             help="what the model reads (default: the reviewed summary)")
            job.add_argument("--instruction",
                             help="the prompt sent with the input ({content} marks where the input goes, else "
                             "it follows); default: the built-in extraction prompt for a base model, the input "
                             "alone for a fine-tuned one")
            job.add_argument("--few-shot", type=_count, default=0, metavar="K",
                             help="put K worked examples from the train split (most similar first) into a base "
                             "model's prompt, within its context")
            job.add_argument("--keep-unverified", action="store_true",
                             help="keep names, phones, addresses the chat does not contain")
            job.add_argument("--collapse-customers", action="store_true",
                             help="merge the customers of a chunked record into one")
            job.add_argument("--resume", action="store_true",
                             help="continue the split's latest run (same settings) instead of starting a new one")
            job.add_argument("--disable-rule", action="append", default=[], metavar="NAME",
                             help="offline backend: leave out this rule for this run, besides those the "
                             "project switched off (repeatable; `roleext rules` lists them)")
        else:
            job.add_argument("--prompt-file", type=Path, help="summary prompt template with {content}")
            job.add_argument("--prepend-facts", action=argparse.BooleanOptionalAction, default=True,
                             help="put the offline digest's facts block in front of each LLM summary "
                             "(on, as in the app: a run with the other setting redoes every summary)")

    rules = commands.add_parser("rules", parents=[db],
                                help="list the offline extractor's rules, or switch them for the project")
    rules.add_argument("--disable", action="append", default=[], metavar="NAME",
                       help="switch this rule off for the project's offline inference (repeatable)")
    rules.add_argument("--enable", action="append", default=[], metavar="NAME",
                       help="switch this rule back on (repeatable)")
    rules.add_argument("--split", choices=["train", "test"], default="train",
                       help="measure the rules on this split's gold (default train)")

    score = commands.add_parser("score", parents=[db], help="score predictions with the competition metric")
    score.add_argument("gold", type=Path, nargs="?", help="a train-format file with gold infos")
    score.add_argument("pred", type=Path, nargs="?", help="a submit.json or a train-format file")
    score.add_argument("--run", type=_positive_int,
                       help="score a stored run against its split's gold instead of two files")
    score.add_argument("--json", action="store_true", help="also print the report as one JSON line")

    filtered = commands.add_parser("filter-run", parents=[db],
                                   help="a new run: a run's predictions filtered field by field by the offline rules")
    filtered.add_argument("--run", type=_positive_int, required=True, help="the run to filter (any split)")
    filtered.add_argument("--learn-from", type=_positive_int, metavar="RUN_ID",
                          help="the train run to choose each field's source on (default: --run if it is a train "
                          "run, else the newest train run of the same model and prompt, else the newest)")

    users = commands.add_parser("users", parents=[db], help="the team who signs in to the app, and their roles")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[db], help="add a user; the password is read from the terminal or stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="annotator, reviewer or admin")
    add.add_argument("--no-password", action="store_true",
                     help="a user who signs in only with the OIDC provider of secrets.toml")
    listing = actions.add_parser("list", parents=[db], help="the users and their roles")
    listing.add_argument("--json", action="store_true", help="a JSON list of {name, role, created, password}")
    remove = actions.add_parser("remove", parents=[db], help="remove a user (history keeps their name)")
    remove.add_argument("name")
    passwd = actions.add_parser("passwd", parents=[db], help="set a user's password, read as for add")
    passwd.add_argument("name")

    work = commands.add_parser("worker", parents=[db],
                                 help="run the project's queued jobs here, one at a time (SIGINT/SIGTERM: stop "
                                 "cleanly, the job under way goes back to the queue)")
    work.add_argument("--once", action="store_true", help="run one queued job, if any, then exit")
    work.add_argument("--poll", type=_positive_float, default=2.0,
                        help="seconds between looks at an empty queue (default 2)")

    runs = commands.add_parser("runs", parents=[db], help="list the inference runs, newest first, with scores")
    runs.add_argument("--split", choices=["train", "test"], help="only this split's runs")
    runs.add_argument("--json", action="store_true", help="print them as one JSON list")
    return parser


def add_job_options(parser: argparse.ArgumentParser, default_split: str) -> None:
    parser.add_argument("--split", choices=["train", "test"], default=default_split)
    parser.add_argument("--backend", choices=["offline", "spark", "openai"], default="offline")
    parser.add_argument("--model", help="spark: lite, pro, max, max-32k, pro-128k, 4.0ultra; openai: the model id")
    parser.add_argument("--concurrency", type=_positive_int, default=4)
    parser.add_argument("--qps", type=_positive_float, help="requests per second at most (default: no limit)")
    parser.add_argument("--timeout", type=_positive_float, default=60.0, help="deadline of one call, in seconds")
    parser.add_argument("--retries", type=_positive_int, default=4, help="attempts per call on retryable errors")
    parser.add_argument("--retry-failed", action="store_true", help="only the records that failed before")
    parser.add_argument("--max-input-chars", type=_positive_int,
                        help="characters one request may hold (default: from the model's context)")
    parser.add_argument("--overlap", type=_count, default=2, help="messages repeated between chunks of a long chat")
    spark = parser.add_argument_group("spark")
    spark.add_argument("--spark-url", type=_spark_url, help="websocket URL (default: from --model)")
    spark.add_argument("--domain", help="domain, or a fine-tuned model's service id")
    spark.add_argument("--patch-id", help="a fine-tuned model's resource id")
    spark.add_argument("--app-id", help="default $SPARK_APP_ID")
    spark.add_argument("--api-secret", help="default $SPARK_API_SECRET")
    spark.add_argument("--transport", choices=["direct", "sdk"], default="direct")
    openai = parser.add_argument_group("openai")
    openai.add_argument("--base-url", help="e.g. http://127.0.0.1:8000/v1")
    openai.add_argument("--fine-tuned", action="store_true",
                        help="the model was fine-tuned on roleext's export: send the input as in training, not "
                        "the built-in prompt (a Spark model is fine-tuned when it has --patch-id)")
    parser.add_argument("--api-key", help="default $SPARK_API_KEY or $OPENAI_API_KEY")


def backend_from_args(args: argparse.Namespace) -> Backend:
    choice = BackendChoice(
        kind=args.backend, model=args.model, timeout=args.timeout, spark_url=args.spark_url,
        domain=args.domain, patch_id=args.patch_id, transport=args.transport,
        app_id=args.app_id or "", api_key=args.api_key or "", api_secret=args.api_secret or "",
        base_url=args.base_url, fine_tuned=args.fine_tuned)
    for problem in choice.warnings():
        print(_("warning: {problem}").format(problem=problem), file=sys.stderr)
    return choice.with_credentials(os.environ).build()


def _read_prompt(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise UsageError(_("--prompt-file {path}: no such file").format(path=path)) from None
    except IsADirectoryError:
        raise UsageError(_("--prompt-file {path}: is a folder, expected a text file").format(path=path)) from None
    except UnicodeDecodeError:
        raise UsageError(_("--prompt-file {path}: is not UTF-8 text").format(path=path)) from None
    except OSError as exc:
        raise UsageError(_("--prompt-file {path}: cannot be read ({reason})").format(path=path,
                                                                                  reason=exc.strerror)) from None


def cmd_job(args: argparse.Namespace) -> int:
    if getattr(args, "disable_rule", None) and args.backend != "offline":
        raise UsageError(_("--disable-rule switches rules of the offline backend; add --backend offline"))
    spec = JobSpec(
        kind=args.command, split=args.split, concurrency=args.concurrency, qps=args.qps,
        max_attempts=max(1, args.retries), timeout=args.timeout, retry_failed=args.retry_failed,
        template=(_read_prompt(args.prompt_file) if getattr(args, "prompt_file", None)
                  else DEFAULT_SUMMARY_PROMPT),
        prepend_facts=getattr(args, "prepend_facts", False),  # summarize: on unless --no-prepend-facts
        instruction=getattr(args, "instruction", None),
        input_source=getattr(args, "source", "summary"),
        drop_unverified=not getattr(args, "keep_unverified", False),
        max_input_chars=args.max_input_chars, overlap=args.overlap,
        collapse_customers=getattr(args, "collapse_customers", False),
        few_shot=getattr(args, "few_shot", 0),
        overwrite_edits=args.overwrite_edits, resume=getattr(args, "resume", False),
    )
    with closing(ProjectStore(args.db)) as store:
        if not store.count(args.split):
            raise RoleextError(_("the {split} split is empty: import a file first").format(split=args.split))
        backend = backend_from_args(args)
        backend.use_rules(getattr(args, "disable_rule", ()))
        job = Job(store, backend, spec)
        if job.prompt is not None:
            print(_("prompt: {what}").format(what=describe_prompt(job.prompt, spec.few_shot)), file=sys.stderr)
        job.start()  # planning interrupted: its row ends cancelled (Job.open)
        try:
            progress = _follow(job)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the job ends cancelled, its row saying so
            job.cancel()
            print(_("interrupted: finishing the calls under way (Ctrl-C again to quit at once)"), file=sys.stderr,
                  flush=True)
            try:
                job.wait()
            except KeyboardInterrupt:  # at once: the job's threads are not waited for (its row expires)
                print(_("error: interrupted"), file=sys.stderr, flush=True)
                os._exit(EXIT_INTERRUPTED)
            raise
    for index, error in sorted(progress.errors.items()):
        print(_("record {index}: {error}").format(index=index, error=error), file=sys.stderr)
    ran = _(" · run {run}").format(run=job.run_id) if job.run_id is not None else ""
    print(progress.line(spec.kind, spec.split) + ran)
    if progress.stopped:
        print(_("error: stopped: {reason}").format(reason=progress.stopped), file=sys.stderr)
        return EXIT_ERROR
    if progress.cancelled:  # asked for on the job's row, from the app: not a finished run
        print(_("error: the job was cancelled (from the app); records finished so far are kept"), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR if progress.failed else 0


def _follow(job: Job) -> Progress:
    """Wait for a started job, printing its progress line every second; its final progress."""
    last = 0.0
    while True:
        progress = job.wait(0.5)
        if progress.finished:
            return progress
        if time.monotonic() - last >= 1.0:
            print(progress.line(job.spec.kind, job.spec.split), file=sys.stderr, flush=True)
            last = time.monotonic()


def cmd_worker(args: argparse.Namespace) -> int:
    return serve_worker(args.db, args.once, args.poll, sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    summary = summarize_file(args.file)
    print(summary.line())
    for problem in [*summary.warnings, *summary.lints]:
        print(problem, file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    if args.as_annotator is not None:
        return cmd_import_as(args)
    with closing(ProjectStore(args.db)) as store:
        chat_file = load_import(store, args.file, split=args.split, merge=args.merge)
        for problem in [*chat_file.warnings, *chat_file.lints]:
            print(problem, file=sys.stderr)
        try:
            report = store.import_chat_file(chat_file, confirmed=args.yes, replace=args.replace)
        except ImportRefusedError as exc:
            print(_("error: {message}").format(message=exc), file=sys.stderr)
            for line in exc.plan.preview():
                print(f"  {line}", file=sys.stderr)
            if not exc.plan.erases_gold:
                print(_("check the above, then run again with --yes to confirm"), file=sys.stderr)
            return EXIT_INVALID
        print(report.line(), flush=True)
        index_for_search(store)
    return 0


def index_for_search(store: ProjectStore) -> None:
    """Add what an import wrote to the search index before the command ends (the app and
    `roleext worker` would do it too, in the background)."""
    waiting = store.waiting_for_index()
    if not waiting:
        return
    start = time.perf_counter()
    for _count in store.index_for_search():
        pass
    print(_("search index: {n} records added in {seconds:.1f} s").format(n=waiting,
                                                                     seconds=time.perf_counter() - start))


def cmd_import_as(args: argparse.Namespace) -> int:
    """A file of labels as one annotator's annotations (roleext.annotation_import)."""
    if args.replace or args.merge:
        raise UsageError(_("--as imports labels only: leave out --replace and --merge"))
    with closing(ProjectStore(args.db)) as store:
        chat_file = load_import(store, args.file, split=args.split)
        report = import_annotations(store, chat_file, args.as_annotator)
    for line in report.lines():
        print(line)
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    with closing(ProjectStore(args.db)) as store:
        # In team mode an annotator must be someone who can sign in, or their queue is unreachable.
        known = [user.name for user in UserBook(store).list_users()] or None
        report = assign(store, args.split, parse_annotators(args.to), overlap=args.overlap, seed=args.seed,
                        known=known)
    for line in report.lines():
        print(line)
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    with closing(ProjectStore(args.db)) as store:
        report = agreement(store, args.split)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return 0


def _check_output(out: Path) -> None:
    if out.is_dir():
        raise UsageError(_("{path} is a folder; give the file to write").format(path=out))
    if not out.parent.is_dir():
        raise UsageError(_("{path} does not exist (or is not a folder); create it first").format(path=out.parent))


def _write_atomically(out: Path, write: Callable[[BinaryIO], ExportReport]) -> ExportReport:
    """Write to a side file and move it into place, so a failed export leaves no half file.

    A side file left by a run that was killed outright (SIGKILL, power loss) goes first.
    """
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with partial.open("wb") as handle:
            report = write(handle)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return report


def cmd_export(args: argparse.Namespace) -> int:
    options = {"source": args.source}
    if args.instruction is not None and args.kind in ("train-jsonl", "chunks", "alpaca"):
        options["instruction"] = args.instruction
    if args.kind in FORMAT_KINDS:
        return cmd_export_format(args)
    _check_output(args.out)
    with closing(ProjectStore(args.db)) as store:
        if args.kind == "train-jsonl":
            report = _write_atomically(args.out, lambda f: export_train_jsonl(
                store, f, repeat=args.repeat or "auto", drop_long=args.drop_long, **options))
        elif args.kind == "chunks":
            chunks = ChunkOptions(args.chunk_chars, args.chunk_overlap)
            report = _write_atomically(args.out, lambda f: export_train_jsonl(
                store, f, repeat=args.repeat or "auto", chunks=chunks, **options))
        elif args.kind == "alpaca":
            report = _write_atomically(args.out, lambda f: export_alpaca(store, f, **options))
            register_dataset(args.out, alpaca_dataset_info(args.out.name))
        elif args.kind == "test-csv":
            report = _write_atomically(args.out, lambda f: export_test_csv(
                store, f, escape_formulas=args.escape_formulas, **options))
        else:
            split, run = _submission_run(store, args.split, args.run)
            if run is not None:
                print(_("from {run}").format(run=run.label()))
            report = _write_atomically(args.out, lambda f: export_submission(
                store, f, split, None if run is None else run.id))
    for line in report.lines():
        print(line)
    print(_("wrote {path}").format(path=args.out))
    return 0


# --- the curated data and other trainers' formats (roleext.formats) ----------------------

FORMAT_KINDS = ("dataset", "messages", "sharegpt", "hf")


def add_format_options(export: argparse.ArgumentParser) -> None:
    export.add_argument("--records", choices=SCOPES, default="not-rejected",
                        help="dataset, hf: all but the rejected (default), only the accepted, or all")
    export.add_argument("--with-review", action="store_true",
                        help="dataset: add a roleext key per record (status, reviewer, last edit) "
                        "that roleext reads back on import and other tools ignore")
    export.add_argument("--drop-long", action="store_true",
                        help=f"train-jsonl, messages, sharegpt: leave out rows over {MAX_ROW_CHARS:,} characters "
                        "(by default they are kept and listed)")


def register_dataset(out: Path, entry: dict[str, object]) -> None:
    """Add the export's entry to the dataset_info.json beside it, which LLaMA-Factory reads."""
    info_path = out.with_name("dataset_info.json")
    info = json.loads(info_path.read_text("utf-8")) if info_path.exists() else {}
    info.update(entry)
    info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), "utf-8")


def cmd_export_format(args: argparse.Namespace) -> int:
    rows = {"source": args.source, "drop_long": args.drop_long,
            **({"instruction": args.instruction} if args.instruction is not None else {})}
    if args.kind != "hf":
        _check_output(args.out)
    with closing(ProjectStore(args.db)) as store:
        if args.kind == "dataset":
            report = _write_atomically(args.out, lambda f: export_dataset(
                store, f, split=args.split or "train", scope=args.records, with_review=args.with_review))
        elif args.kind == "messages":
            report = _write_atomically(args.out, lambda f: export_messages(store, f, repeat=args.repeat or 1, **rows))
        elif args.kind == "sharegpt":
            report = _write_atomically(args.out, lambda f: export_sharegpt(store, f, **rows))
            register_dataset(args.out, sharegpt_dataset_info(args.out.name))
        else:
            report = export_hf_folder(store, args.out, scope=args.records)
    for line in report.lines():
        print(line)
    print(_("wrote {path}").format(path=args.out))
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    unknown = unknown_rules([*args.disable, *args.enable])
    if unknown:
        raise UsageError(_("no offline rule is called {names}; the rules are {rules}").format(
            names=", ".join(unknown), rules=", ".join(RULE_NAMES)))
    with closing(ProjectStore(args.db)) as store:
        for name in args.enable:
            store.set_rule_enabled(name, True)
        for name in args.disable:
            store.set_rule_enabled(name, False)
        stats = store_rule_report(store, args.split, store.disabled_rules())
        off = store.disabled_rules()
    for line in rule_report_lines(stats, off, args.split):
        print(line)
    return 0


def _predictions(path: Path) -> dict[int, list[Customer]]:
    data, name = read_source(path)
    if guess_kind(parse_items(data, name)) == "submission":
        submission = load_submission(data)
        for problem in submission.warnings:
            print(problem, file=sys.stderr)
        return submission.infos_by_index
    return {r.index: r.infos for r in load_chat_file(data).records}


def _submission_run(store: ProjectStore, split: Split | None, run_id: int | None) -> tuple[Split, Run | None]:
    """The split and run a submission export writes: `--run`, else the split's shown run."""
    book = RunBook(store)
    if run_id is None:
        split = split or "test"
        return split, book.shown(split)
    run = book.get(run_id)
    if split is not None and run.split != split:
        raise UsageError(_("run {run} is a {split} run; leave out --split or give --split {split}").format(
            run=run_id, split=run.split))
    return run.split, run


def _print_score(report: ScoreReport, base: dict[str, float], as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "score": report.score, "records": report.records, "skipped": report.skipped,
            "baselines": base, "method": report.method,
            "fields": [{"field": f.field, "weight": f.weight, "earned": f.earned,
                        "accuracy": f.accuracy} for f in report.fields],
        }, ensure_ascii=False))
        print(f"score: {report.score:.4f}")
    else:
        print("\n".join(format_report(report, base)))


def _score_run(args: argparse.Namespace) -> int:
    if args.gold is not None:
        raise UsageError(_("give GOLD and PRED files, or --run ID, not both"))
    with closing(ProjectStore(args.db)) as store:
        run = RunBook(store).get(args.run)
        result = evaluate(store, run.split, run.id)
    if result is None:
        raise UsageError(_("run {run} is a {split} run, and no {split} record has gold to score it against; "
                           "export it (export submission --run) to score it with a gold file").format(
            run=run.id, split=run.split))
    print(run.label(), file=sys.stderr)
    _print_score(result.report, result.baselines, args.json)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    if args.run is not None:
        return _score_run(args)
    if args.gold is None or args.pred is None:
        raise UsageError(_("score needs GOLD and PRED files, or --run ID"))
    gold_file = load_chat_file(args.gold, split="train")
    gold = {r.index: r.infos for r in gold_file.records}
    if not any(gold.values()):
        raise UsageError(_("{name} holds no gold customers (a test file?); score needs a train file whose records "
                           "have infos").format(name=args.gold.name))
    predicted = _predictions(args.pred)
    unknown = sorted(set(predicted) - set(gold))
    if unknown:
        print(_("warning: {n} predictions have no gold record (index {index}...)").format(
            n=len(unknown), index=unknown[0]), file=sys.stderr)
    _print_score(score_predictions(gold, predicted), baselines(gold), args.json)
    return 0


def _cell(text: str, width: int, right: bool = False) -> str:
    """A table cell in a terminal, where a CJK character takes two columns."""
    space = " " * max(0, width - sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))
    return space + text if right else text + space


def cmd_runs(args: argparse.Namespace) -> int:
    """The runs, newest first, each with its score where its split has gold."""
    with closing(ProjectStore(args.db)) as store:
        runs = RunBook(store).newest_first(args.split)
        scored = {}
        for run in runs:
            result = evaluate(store, run.split, run.id)
            scored[run.id] = None if result is None else result.report.score
    if args.json:
        print(json.dumps([run.as_json(scored[run.id]) for run in runs], ensure_ascii=False))
        return 0
    if not runs:
        print(_("no inference run yet: `roleext infer` makes one"))
        return 0
    print(f"{_cell(_('run'), 4, right=True)}  {_cell(_('split'), 5)}  {_cell(_('created'), 16)}  "
          f"{_cell(_('status'), 11)}  {_cell(_('records'), 7, right=True)}  {_cell(_('failed'), 6, right=True)}  "
          f"{_cell(_('score'), 7, right=True)}  {_('backend and model')}")
    for run in runs:
        score = scored[run.id]
        chosen = _("  (chosen for the submission)") if run.chosen else ""
        print(f"{run.id:>4}  {run.split:<5}  {run.created:%Y-%m-%d %H:%M}  {run.status or '-':<11}  "
              f"{run.records:>7}  {run.failed:>6}  {'-' if score is None else f'{score:.4f}':>7}  "
              f"{run.backend} {run.model}{chosen}")
    return 0


def cmd_filter_run(args: argparse.Namespace) -> int:
    """Learn on train which source each field takes (LLM, rules, LLM where the rules agree), write the run."""
    with closing(ProjectStore(args.db)) as store:
        made = make_filter_run(store, args.run, args.learn_from)
    for line in filter_run_lines(made):
        print(line)
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    """Add, list, remove a user or set their password (roleext.users); the password never echoes."""
    with closing(ProjectStore(args.db)) as store:
        book = UserBook(store)
        if args.action == "add":
            book.check_new(args.name, args.role)
            password = None if args.no_password else read_password(sys.stdin)
            user = book.add(args.name, args.role, password)
            print(_("added {name} ({role}); the app now asks for a sign-in").format(name=user.name, role=user.role))
        elif args.action == "list":
            users = book.list_users()
            if args.json:
                print(json.dumps([user.as_json() for user in users], ensure_ascii=False))
            else:
                print("\n".join(user_lines(users)))
        elif args.action == "remove":
            book.remove(args.name)
            print(_("removed {name}").format(name=args.name.strip()))
            if not book.team_mode():
                print(_("no users left: the app is back in single-user mode, with no sign-in and every right for "
                        "whoever reaches it"), file=sys.stderr)
        else:
            book.set_password(args.name, read_password(sys.stdin))
            print(_("password of {name} changed").format(name=args.name.strip()))
    return 0


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def logging_to_stderr(verbosity: int) -> Iterator[None]:
    """The log on stderr while a command runs: warnings by default; roleext's info with -v, debug with -vv.

    A job that tells the user to "see the log" relies on this: in the CLI, the log is stderr.
    Everything is put back afterwards, as main() also runs in-process (the tests).
    """
    root, ours = logging.getLogger(), logging.getLogger("roleext")
    saved = root.level, ours.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))
    handler.addFilter(RedactingFilter())  # every line printed, libraries' warnings included
    root.addHandler(handler)
    # Libraries stay at warnings even with -vv: their debug lines would carry chats and
    # Spark's signed URL (the API key, base64-encoded) into the log.
    root.setLevel(logging.WARNING)
    ours.setLevel([logging.NOTSET, logging.INFO, logging.DEBUG][min(verbosity, 2)])
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        ours.setLevel(saved[1])


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": cmd_validate, "import": cmd_import, "export": cmd_export, "score": cmd_score,
    "summarize": cmd_job, "infer": cmd_job, "runs": cmd_runs, "rules": cmd_rules,
    "filter-run": cmd_filter_run, "users": cmd_users, "assign": cmd_assign, "agreement": cmd_agreement,
    "worker": cmd_worker,
}


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so `finally` blocks run: no half-written export is left behind


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in the terminal's language; the exit code says how it went."""
    with using(environment_language(os.environ), "cli"):
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupted) if on_main_thread else None
    try:
        with logging_to_stderr(args.verbose):
            return COMMANDS[args.command](args)
    except InvalidFileError as exc:
        print(exc)
        return EXIT_INVALID
    except UsageError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print(_("error: interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except RoleextError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return EXIT_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
