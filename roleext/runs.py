"""Inference runs: every inference job is a run, and a record has one prediction per run.

A run remembers what made it (backend, model, the prompt text, the options; never a key),
when, and how many records it did and failed. Runs are kept side by side: a new run never
writes over an earlier run's predictions, and a correction belongs to the run whose
prediction it corrects. A job that resumes a run adds to it; a fresh start makes a new one.

What the project shows and exports by default is the split's shown run
(`roleext.rows.shown_run`): the run a person chose for the submission, else the newest run
holding a usable prediction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, Table, func, insert, select, update

from roleext.errors import NotFoundError
from roleext.i18n import _
from roleext.io import Split
from roleext.ledger import STALE_AFTER
from roleext.migrations import BEFORE_RUNS
from roleext.prompts import prompt_hash
from roleext.rows import shown_run
from roleext.store import ProjectStore


@dataclass(frozen=True)
class Run:
    """One inference run of a split, with its counts as they are now."""

    id: int
    split: Split
    backend: str
    model: str
    prompt: str | None
    """The prompt text the run sent ("" for none); None where not known (a run from before runs)."""
    prompt_hash: str | None
    options: dict[str, Any]
    config: str | None
    """What a job resuming this run must match (roleext.jobs.Job.config)."""
    created: datetime
    ended: datetime | None
    records: int
    """Records with a usable prediction in this run."""
    corrected: int
    failed: int
    """Records whose last attempt in this run failed, as its last job ended."""
    status: str
    """How its last job stands: running, done, cancelled, stopped, failed, interrupted; "" with no job."""
    chosen: bool

    @property
    def before_runs(self) -> bool:
        """Made of the predictions stored before runs were recorded: what made them is unknown."""
        return self.options.get("note") == BEFORE_RUNS

    def label(self) -> str:
        """One line naming the run in a picker or a report: number, model, start, records."""
        when = _("before runs") if self.before_runs else f"{self.created:%Y-%m-%d %H:%M}"
        model = self.backend if self.model in (self.backend, BEFORE_RUNS) else f"{self.backend} {self.model}"
        return _("run {run} · {model} · {when} · {records} records").format(
            run=self.id, model=model, when=when, records=self.records)

    def as_json(self, score: float | None) -> dict[str, Any]:
        """The run as `roleext runs --json` prints it (score: None where the split has no gold)."""
        return {"id": self.id, "split": self.split, "backend": self.backend, "model": self.model,
                "created": self.created.isoformat(), "ended": self.ended.isoformat() if self.ended else None,
                "status": self.status, "records": self.records, "failed": self.failed,
                "corrected": self.corrected, "score": score, "chosen": self.chosen,
                "prompt_hash": self.prompt_hash, "prompt": self.prompt, "options": self.options}


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives timestamps back without their zone; they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class RunBook:
    """The runs table of one project store, and the counts that say how each run stands."""

    def __init__(self, store: ProjectStore) -> None:
        self.store = store
        meta = MetaData()
        meta.reflect(store.engine, only=["jobs"])
        self.jobs: Table = meta.tables["jobs"]
        self.runs = store.runs
        self.predictions = store.predictions

    def create(self, split: Split, backend: str, model: str, prompt: str = "",
               options: dict[str, Any] | None = None, config: str | None = None) -> int:
        """A new run; `options` are what shaped it besides the prompt, and hold no key.
        Predictions saved in a run without `config` (made outside a job) cannot be resumed by one."""
        now = datetime.now(UTC)
        with self.store.write() as conn:
            key = conn.execute(insert(self.runs).values(
                split=split, backend=backend, model=model, prompt=prompt, prompt_hash=prompt_hash(prompt),
                options=json.dumps(options or {}, ensure_ascii=False, sort_keys=True), config=config, chosen=False,
                failed=0, created_at=now, ended_at=None)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def end(self, run_id: int, failed: int) -> None:
        """A job of the run ended (a resumed run ends again later): its end and failures now."""
        with self.store.write() as conn:
            conn.execute(update(self.runs).where(self.runs.c.id == run_id)
                         .values(ended_at=datetime.now(UTC), failed=failed))

    def newest_first(self, split: Split | None = None) -> list[Run]:
        """The runs, newest first (of one split, or all)."""
        return self._select(None if split is None else self.runs.c.split == split)

    def get(self, run_id: int) -> Run:
        found = self._select(self.runs.c.id == run_id)
        if not found:
            raise NotFoundError(_("there is no run {run}; `roleext runs` lists them").format(run=run_id))
        return found[0]

    def latest(self, split: Split) -> Run | None:
        """The split's newest run, whatever it holds: the one a resumed job continues."""
        runs = self.newest_first(split)
        return runs[0] if runs else None

    def shown(self, split: Split) -> Run | None:
        """The run the split shows and exports by default: the chosen one, else the newest usable one."""
        with self.store.engine.connect() as conn:
            run_id = conn.execute(select(shown_run(self.runs, self.predictions, split))).scalar()
        return None if run_id is None else self.get(run_id)

    def choose(self, split: Split, run_id: int | None) -> None:
        """Make `run_id` the split's run for the submission (None: back to the newest)."""
        if run_id is not None and self.get(run_id).split != split:
            raise NotFoundError(_("run {run} is not a run of the {split} split").format(run=run_id, split=split))
        with self.store.write() as conn:
            conn.execute(update(self.runs).where(self.runs.c.split == split).values(chosen=False))
            if run_id is not None:
                conn.execute(update(self.runs).where(self.runs.c.id == run_id).values(chosen=True))

    def _select(self, where: Any) -> list[Run]:
        runs, p, j = self.runs, self.predictions, self.jobs

        def count(*conditions: Any) -> Any:
            return select(func.count()).where(p.c.run_id == runs.c.id, *conditions).scalar_subquery()

        job = j.alias("last_job")
        last_job = (select(job.c.id).where(job.c.run_id == runs.c.id).correlate_except(job)
                    .order_by(job.c.id.desc()).limit(1).scalar_subquery())
        query = (select(runs, count(p.c.error.is_(None)).label("usable"),
                        count(p.c.corrected.is_not(None)).label("n_corrected"),
                        j.c.status.label("job_status"), j.c.updated_at.label("job_touched"))
                 .select_from(runs.outerjoin(j, j.c.id == last_job)).order_by(runs.c.id.desc()))
        if where is not None:
            query = query.where(where)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        now = datetime.now(UTC)
        out = []
        for row in rows:
            status = row.job_status or ""
            touched = _utc(row.job_touched)
            if status == "running" and touched is not None and now - touched > STALE_AFTER:
                status = "interrupted"
            created = _utc(row.created_at)
            assert created is not None
            out.append(Run(row.id, row.split, row.backend, row.model, row.prompt, row.prompt_hash,
                           json.loads(row.options), row.config, created, _utc(row.ended_at), row.usable,
                           row.n_corrected, row.failed, status, bool(row.chosen)))
        return out
