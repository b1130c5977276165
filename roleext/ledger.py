"""What batch jobs keep in the project database: the LLM cache, per-record task state, job rows.

Kept apart from `store` (records and their edits) because only jobs write it; a job that
dies mid-run leaves every finished record marked done here, which is what resume reads.

A job row is also the job's lease on its (kind, split) while its heartbeat touches it, and,
when it carries a `request` (a queued job, `roleext.worker`), a queue entry that one process
claims at a time: a worker that dies leaves its row to be claimed again, never run twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, MetaData, Table, case, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from roleext.database import upsert
from roleext.errors import JobBusyError
from roleext.i18n import _
from roleext.io import Split
from roleext.progress import task_name
from roleext.store import ProjectStore

TaskKind = Literal["summarize", "infer"]
Lease = Literal["held", "cancel", "lost"]
"""What a running job's heartbeat finds on its row (`Ledger.beat`)."""
HEARTBEAT = timedelta(seconds=5)
"""How often a running job touches its row; the row is its lease on (kind, split)."""
STALE_AFTER = timedelta(seconds=30)
"""A running job row not touched for this long belongs to a process that died: interrupted."""


def process_owner() -> str:
    """Names the process running a job: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when the owner is a process of this machine that no longer exists: a job
    killed here frees its split at once, without waiting STALE_AFTER for its heartbeat."""
    host, _sep, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


@dataclass(frozen=True)
class TaskState:
    record_id: int
    status: Literal["done", "failed"]
    config: str
    error: str | None
    attempts: int
    detail: str | None = None
    run: int | None = None
    """The inference run the attempt was made in (None for summaries)."""


@dataclass(frozen=True)
class ClaimedJob:
    """A queued job row this process now holds: what to run (`request`, JSON) and where it got to."""

    id: int
    kind: TaskKind
    split: Split
    request: str
    run_id: int | None
    """The inference run of an earlier claim, which a reclaimed job continues."""


def cache_key(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """Cache, task state and job rows of one project store."""

    def __init__(self, store: ProjectStore) -> None:
        self.engine = store.engine
        self.write = store.write
        meta = MetaData()
        meta.reflect(self.engine, only=["llm_cache", "record_tasks", "jobs"])
        self.cache: Table = meta.tables["llm_cache"]
        self.tasks: Table = meta.tables["record_tasks"]
        self.jobs: Table = meta.tables["jobs"]
        self._mark = _upsert_statement(self.engine.dialect.name, self.tasks, ["record_id", "kind"])
        """Built once: making an upsert's `excluded` columns costs more than running it."""

    # --- cache --------------------------------------------------------------------------

    def cached(self, key: str) -> tuple[str, dict[str, int]] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.cache.c.output, self.cache.c.usage)
                               .where(self.cache.c.key == key)).first()
        return (row.output, json.loads(row.usage)) if row else None

    def remember(self, key: str, backend: str, model: str, output: str, usage: dict[str, int]) -> None:
        with self.write() as conn:
            upsert(conn, self.cache, {"key": key, "backend": backend, "model": model, "output": output,
                                      "usage": json.dumps(usage), "created_at": _now()}, ["key"])

    def forget(self, key: str) -> None:
        """Drop a cached answer that turned out unusable, so a retry asks the model again."""
        with self.write() as conn:
            conn.execute(self.cache.delete().where(self.cache.c.key == key))

    # --- per-record task state ----------------------------------------------------------

    def states(self, kind: TaskKind, record_ids: list[int] | None = None) -> dict[int, TaskState]:
        """Task states of `kind`, of every record or of these (a job reads them a batch at a time)."""
        t = self.tasks
        query = select(t).where(t.c.kind == kind)
        if record_ids is not None:
            query = query.where(t.c.record_id.in_(record_ids))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {r.record_id: TaskState(r.record_id, r.status, r.config, r.error, r.attempts, r.detail, r.run_id)
                for r in rows}

    def mark(self, record_id: int, kind: TaskKind, status: Literal["done", "failed"], config: str,
             attempts: int, error: str | None = None, sid: str | None = None, detail: str | None = None,
             run: int | None = None) -> None:
        with self.write() as conn:
            conn.execute(self._mark, {"record_id": record_id, "kind": kind, "status": status, "config": config,
                                      "error": error, "sid": sid, "attempts": attempts, "detail": detail,
                                      "run_id": run, "updated_at": _now()})

    def mark_done_in(self, conn: Connection, kind: TaskKind, config: str, done: list[tuple[int, int, str | None]],
                     run: int | None = None) -> None:
        """Mark tasks done, (record id, attempts, detail) each, inside the caller's write
        transaction: the store saves a group of outputs and their task states together
        (`ProjectStore.save_outputs(then=...)`), so a kill leaves both or neither."""
        now = _now()
        if done:
            conn.execute(self._mark, [{"record_id": record_id, "kind": kind, "status": "done", "config": config,
                                       "error": None, "sid": None, "attempts": attempts, "detail": detail,
                                       "run_id": run, "updated_at": now} for record_id, attempts, detail in done])

    def failed_in_run(self, run_id: int) -> int:
        """Records whose last attempt was made in this inference run, and failed."""
        t = self.tasks
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(
                t.c.kind == "infer", t.c.run_id == run_id, t.c.status == "failed")).scalar_one())

    # --- job rows -----------------------------------------------------------------------

    def open_job(self, kind: TaskKind, split: str, description: str, total: int) -> int:
        """A new running job row, which is the lease on (kind, split) while it is touched.

        Raises `JobBusyError` while another live job (this process or another) runs the
        same task on the same split; a running row nobody touched for STALE_AFTER is a job
        whose process died, and becomes `interrupted`.
        """
        now = _now()
        j = self.jobs
        with self.write() as conn:
            self._expire(conn, now)
            live = conn.execute(select(j).where(j.c.status == "running", j.c.kind == kind,
                                                j.c.split == split)).first()
            if live is not None:
                raise JobBusyError(_(
                    "a {kind} job on {split} is already running (job {id}, process {owner}, {done}/{total} done); "
                    "wait for it to finish or cancel it first").format(
                        kind=task_name(kind), split=split, id=live.id, owner=live.owner, done=live.done,
                        total=live.total))
            result = conn.execute(insert(j).values(kind=kind, split=split, status="running",
                                                   description=description, total=total, done=0, failed=0,
                                                   tokens=0, owner=process_owner(), created_at=now,
                                                   updated_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def _expire(self, conn: Connection, now: datetime) -> None:
        """Running rows whose process died (no heartbeat for STALE_AFTER, or a pid of this machine
        that is gone) lose their lease: a queued job goes back to the queue to be claimed again,
        a job run where it was started becomes `interrupted`."""
        j = self.jobs
        stale = j.c.status == "running"
        expired = {row.id for row in conn.execute(select(j.c.id, j.c.owner, j.c.updated_at).where(stale))
                   if _aware(row.updated_at) < now - STALE_AFTER or owner_is_dead(row.owner)}
        if not expired:
            return
        conn.execute(update(j).where(j.c.id.in_(expired), j.c.request.is_(None))
                     .values(status="interrupted", updated_at=now))
        conn.execute(update(j).where(j.c.id.in_(expired), j.c.request.is_not(None))
                     .values(status=self._requeued(), owner=None, updated_at=now))

    def _requeued(self) -> Any:
        """The status of a job given back to the queue: "cancelled" if someone asked to cancel it
        (`request_cancel`), so that no worker claims and runs it again."""
        return case((self.jobs.c.cancel_requested, "cancelled"), else_="queued")

    # --- the queue ----------------------------------------------------------------------

    def enqueue(self, kind: TaskKind, split: str, description: str, request: str) -> int:
        """A queued job row holding `request` (what to run, never a key) for a worker to claim.

        Refused (`JobBusyError`) while the same task on the same split is queued or running:
        the second would only find the first's work done."""
        now = _now()
        j = self.jobs
        with self.write() as conn:
            self._expire(conn, now)
            busy = conn.execute(select(j).where(j.c.status.in_(("queued", "running")), j.c.kind == kind,
                                                j.c.split == split)).first()
            if busy is not None:
                raise JobBusyError(_(
                    "a {kind} job on {split} is already {state} (job {id}); wait for it to finish or cancel it "
                    "first").format(kind=task_name(kind), split=split, id=busy.id,
                                    state=_("queued") if busy.status == "queued" else _("running")))
            result = conn.execute(insert(j).values(kind=kind, split=split, status="queued", request=request,
                                                   description=description, total=0, done=0, failed=0,
                                                   tokens=0, owner=None, created_at=now, updated_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def claim(self) -> ClaimedJob | None:
        """The oldest queued job whose (kind, split) no live job holds, now running under this
        process; None when there is none. One claimer wins each row: on PostgreSQL the row is
        taken `FOR UPDATE SKIP LOCKED`, on SQLite by a conditional UPDATE, both inside the
        store's write transaction."""
        now = _now()
        j, other = self.jobs, self.jobs.alias("other")
        with self.write() as conn:
            self._expire(conn, now)
            holder = exists().where(other.c.status == "running", other.c.kind == j.c.kind,
                                    other.c.split == j.c.split)
            query = select(j).where(j.c.status == "queued", ~holder).order_by(j.c.id).limit(1)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=j)
            row = conn.execute(query).first()
            if row is None:
                return None
            taken = conn.execute(update(j).where(j.c.id == row.id, j.c.status == "queued")
                                 .values(status="running", owner=process_owner(), error=None, updated_at=now))
            if taken.rowcount != 1:
                return None
            return ClaimedJob(row.id, row.kind, row.split, row.request, row.run_id)

    def release(self, job_id: int) -> None:
        """Give a claimed job back to the queue (its worker is stopping): another worker resumes it."""
        j = self.jobs
        with self.write() as conn:
            conn.execute(update(j).where(j.c.id == job_id, j.c.status == "running", j.c.owner == process_owner())
                         .values(status=self._requeued(), owner=None, updated_at=_now()))

    def cancel_queued(self, job_id: int) -> bool:
        """Take a job off the queue before a worker claimed it; False if one already did."""
        j = self.jobs
        with self.write() as conn:
            result = conn.execute(update(j).where(j.c.id == job_id, j.c.status == "queued")
                                  .values(status="cancelled", updated_at=_now()))
        return result.rowcount == 1

    def queued_jobs(self) -> list[dict[str, Any]]:
        """Jobs waiting for a worker, oldest first."""
        j = self.jobs
        with self.engine.connect() as conn:
            rows = conn.execute(select(j).where(j.c.status == "queued").order_by(j.c.id)).all()
        return [dict(row._mapping) for row in rows]

    def report(self, job_id: int, **values: Any) -> bool:
        """Update the row of a job this process holds; every call is also its heartbeat. False
        (nothing written) when another process holds it now: a worker that stalled past its
        lease while another took the job over must not write over that one's row."""
        j = self.jobs
        if values.get("status") == "queued":  # handed back: unless a cancel was asked for meanwhile
            values = {**values, "status": self._requeued()}
        with self.write() as conn:
            result = conn.execute(update(j).where(j.c.id == job_id, j.c.owner == process_owner())
                                  .values(**values, updated_at=_now()))
        return result.rowcount == 1

    def status_of(self, job_id: int) -> str | None:
        """A job row's status now (None: no such job)."""
        with self.engine.connect() as conn:
            return conn.execute(select(self.jobs.c.status).where(self.jobs.c.id == job_id)).scalar()

    def beat(self, job_id: int, **values: Any) -> Lease:
        """A running job's heartbeat, with its counters: "held"; "cancel" once someone asked to
        cancel it (`request_cancel`); "lost" when its row is no longer running here (it stalled
        and was marked interrupted)."""
        j = self.jobs
        with self.write() as conn:
            result = conn.execute(update(j).where(j.c.id == job_id, j.c.status == "running",
                                                  j.c.owner == process_owner())
                                  .values(**values, updated_at=_now()))
            if result.rowcount != 1:
                return "lost"
            asked = conn.execute(select(j.c.cancel_requested).where(j.c.id == job_id)).scalar_one()
        return "cancel" if asked else "held"

    def request_cancel(self, job_id: int) -> bool:
        """Ask a job running in any process to stop: it starts no more records after its next
        heartbeat (HEARTBEAT), and the calls under way finish. False if it is not running."""
        j = self.jobs
        with self.write() as conn:
            result = conn.execute(update(j).where(j.c.id == job_id, j.c.status == "running")
                                  .values(cancel_requested=True))
        return result.rowcount == 1

    def running_jobs(self) -> list[dict[str, Any]]:
        """Jobs of every process whose lease is live, newest first: not a job whose process of
        this machine is gone (killed), though its row still waits for the next claim to expire it."""
        j = self.jobs
        with self.engine.connect() as conn:
            rows = conn.execute(select(j).where(j.c.status == "running", j.c.updated_at >= _now() - STALE_AFTER)
                                .order_by(j.c.id.desc())).all()
        return [dict(row._mapping) for row in rows if not owner_is_dead(row.owner)]

    def busy(self, kind: TaskKind, split: str, besides: Collection[int | None] = ()) -> bool:
        """Whether a job on (kind, split) other than `besides` runs live anywhere or waits in the
        queue: a new one would be refused, or (queued) only find the work done by the first."""
        return any(row["kind"] == kind and row["split"] == split and row["id"] not in besides
                   for row in [*self.running_jobs(), *self.queued_jobs()])

    def latest_jobs(self, limit: int = 10) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.jobs).order_by(self.jobs.c.id.desc()).limit(limit)).all()
        return [dict(row._mapping) for row in rows]


def _upsert_statement(dialect: str, table: Table, keys: list[str]) -> Any:
    """`database.upsert` of every column of `table`, as a statement run with each row's values."""
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys})


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def record_task_rows(store: ProjectStore, kind: TaskKind, split: Split) -> list[dict[str, Any]]:
    """Per record of `split`: its length, the last `kind` job's status ("stale: the chat changed"
    when the chat changed since its output was made, "not run" when none ran), what it did to
    fit the record (cleaning, chunks, why) and its error: the job pages' table."""
    states = Ledger(store).states(kind)
    statuses = {"done": _("done"), "failed": _("failed")}
    rows = []
    for info in store.list_records(split):
        state = states.get(info.id)
        stale = info.summary_stale if kind == "summarize" else info.prediction_stale
        status = (_("stale: the chat changed") if stale else statuses.get(state.status, state.status) if state
                  else _("not run"))
        rows.append({"record": info.index, "characters": info.chat_chars, "status": status,
                     "what was done": (state.detail or "") if state else "",
                     "error": (state.error or "") if state else ""})
    return rows
