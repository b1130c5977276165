"""What batch jobs keep in the project database: the LLM cache, per-record task state, job rows.

Kept apart from `store` (records and their edits) because only jobs write it; a job that
dies mid-run leaves every finished record marked done here, which is what resume reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import MetaData, Table, delete, insert, select, update

from roleext.store import ProjectStore

TaskKind = Literal["summarize", "infer"]
STALE_AFTER = timedelta(seconds=120)


@dataclass(frozen=True)
class TaskState:
    record_id: int
    status: Literal["done", "failed"]
    config: str
    error: str | None
    attempts: int
    detail: str | None = None


def cache_key(*parts: str) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """Cache, task state and job rows of one project store."""

    def __init__(self, store: ProjectStore) -> None:
        self.engine = store.engine
        meta = MetaData()
        meta.reflect(self.engine, only=["llm_cache", "record_tasks", "jobs"])
        self.cache: Table = meta.tables["llm_cache"]
        self.tasks: Table = meta.tables["record_tasks"]
        self.jobs: Table = meta.tables["jobs"]

    # --- cache --------------------------------------------------------------------------

    def cached(self, key: str) -> tuple[str, dict[str, int]] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.cache.c.output, self.cache.c.usage)
                               .where(self.cache.c.key == key)).first()
        return (row.output, json.loads(row.usage)) if row else None

    def remember(self, key: str, backend: str, model: str, output: str, usage: dict[str, int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(self.cache).where(self.cache.c.key == key))
            conn.execute(insert(self.cache).values(key=key, backend=backend, model=model, output=output,
                                                   usage=json.dumps(usage), created_at=_now()))

    # --- per-record task state ----------------------------------------------------------

    def states(self, kind: TaskKind) -> dict[int, TaskState]:
        t = self.tasks
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.kind == kind)).all()
        return {r.record_id: TaskState(r.record_id, r.status, r.config, r.error, r.attempts, r.detail)
                for r in rows}

    def mark(self, record_id: int, kind: TaskKind, status: Literal["done", "failed"], config: str,
             attempts: int, error: str | None = None, sid: str | None = None, detail: str | None = None) -> None:
        t = self.tasks
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.record_id == record_id, t.c.kind == kind))
            conn.execute(insert(t).values(record_id=record_id, kind=kind, status=status, config=config,
                                          error=error, sid=sid, attempts=attempts, detail=detail,
                                          updated_at=_now()))

    # --- job rows -----------------------------------------------------------------------

    def open_job(self, kind: TaskKind, split: str, description: str, total: int) -> int:
        """A new job row; rows of jobs that stopped reporting (a killed process) become interrupted."""
        now = _now()
        j = self.jobs
        with self.engine.begin() as conn:
            conn.execute(update(j).where(j.c.status == "running", j.c.updated_at < now - STALE_AFTER)
                         .values(status="interrupted", updated_at=now))
            result = conn.execute(insert(j).values(kind=kind, split=split, status="running",
                                                   description=description, total=total, done=0, failed=0,
                                                   tokens=0, created_at=now, updated_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def report(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(self.jobs).where(self.jobs.c.id == job_id).values(**values, updated_at=_now()))

    def latest_jobs(self, limit: int = 10) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.jobs).order_by(self.jobs.c.id.desc()).limit(limit)).all()
        return [dict(row._mapping) for row in rows]
