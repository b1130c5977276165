"""Who labels which record: `roleext assign`, each annotator's queue and progress.

Assigning spreads a split's records over annotators evenly, a share of them (`overlap`) to
two distinct annotators so that `roleext.agreement` has something to compare. It is
deterministic for a seed, and it never takes work away: records already assigned keep
their annotators (and whatever they labelled), and only records nobody has yet are
assigned, balanced against what each annotator already holds. To give someone else a
record, label it as them (`import --as`) or assign a new split; nothing here unassigns.

Annotators are plain names. Where the project has team users (another module keeps
them), the caller passes their names as `known` and a name outside them is refused.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, func, insert, select

from roleext.errors import UsageError
from roleext.i18n import _, ngettext
from roleext.io import Split
from roleext.store import ProjectStore

DEFAULT_OVERLAP = 0.2
"""Share of newly assigned records given to two annotators: enough pairs for a kappa that means
something (20 of 100 records) without doubling the labelling work."""


@dataclass(frozen=True)
class Progress:
    """One annotator's work on a split: records assigned, and how many they have labelled."""

    annotator: str
    assigned: int
    done: int


@dataclass
class AssignReport:
    """What `assign` did: records newly assigned, to one or two annotators, and per annotator."""

    split: Split
    records: int
    already: int
    newly: int = 0
    doubled: int = 0
    new_by_annotator: dict[str, int] = field(default_factory=dict)
    progress: list[Progress] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [_("{split}: {new} of {records} records assigned now ({doubled} to two annotators); {already} were "
                 "assigned before and keep their annotators").format(
            split=self.split, new=self.newly, records=self.records, doubled=self.doubled, already=self.already)]
        for row in self.progress:
            out.append(_("  {annotator}: {assigned} assigned ({new} new), {done} labelled").format(
                annotator=row.annotator, assigned=row.assigned, new=self.new_by_annotator.get(row.annotator, 0),
                done=row.done))
        return out


def parse_annotators(text: str) -> list[str]:
    """`a,b,c` as names, in order, blanks and repeats dropped."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def check_annotators(annotators: Sequence[str], overlap: float, known: Collection[str] | None) -> None:
    """Refuse what cannot be assigned, with what to do instead."""
    if not annotators:
        raise UsageError(_("name at least one annotator (--to a,b,c)"))
    too_long = [name for name in annotators if len(name) > 100]
    if too_long:
        raise UsageError(_("an annotator's name has at most 100 characters: {name}…").format(name=too_long[0][:20]))
    if not 0 <= overlap <= 1:
        raise UsageError(_("the overlap is a share from 0 to 1, got {overlap}").format(overlap=overlap))
    if overlap > 0 and len(annotators) < 2:
        raise UsageError(_("an overlap needs two annotators or more; name another, or give --overlap 0"))
    if known is not None:
        unknown = [name for name in annotators if name not in known]
        if unknown:
            raise UsageError(ngettext("{names} is not a user of this project; add them first",
                                      "{names} are not users of this project; add them first",
                                      len(unknown)).format(names=", ".join(unknown)))


def assign(store: ProjectStore, split: Split, annotators: Sequence[str], *, overlap: float = DEFAULT_OVERLAP,
           seed: int = 0, known: Collection[str] | None = None) -> AssignReport:
    """Assign the split's unassigned records: each to the least loaded annotator, `overlap` of
    them to the two least loaded; the same seed, records and annotators give the same result."""
    check_annotators(annotators, overlap, known)
    r, a = store.records, store.assignments
    now = datetime.now(UTC)
    with store.write() as conn:
        ids = list(conn.execute(select(r.c.id).where(r.c.split == split, r.c.idx.is_not(None))
                                .order_by(r.c.idx)).scalars())
        taken = set(conn.execute(select(a.c.record_id).join(r, r.c.id == a.c.record_id)
                                 .where(r.c.split == split)).scalars())
        held: dict[str, int] = {row.annotator: row.n for row in conn.execute(
            select(a.c.annotator, func.count().label("n")).join(r, r.c.id == a.c.record_id)
            .where(r.c.split == split).group_by(a.c.annotator)).all()}
        free = [record_id for record_id in ids if record_id not in taken]
        plan = spread(free, annotators, overlap, seed, held)
        if plan:
            conn.execute(insert(a), [{"record_id": record_id, "annotator": name, "assigned_at": now}
                                     for record_id, names in plan for name in names])
    report = AssignReport(split, len(ids), len(ids) - len(free), len(plan), sum(len(n) == 2 for _id, n in plan))
    for _record, names in plan:
        for name in names:
            report.new_by_annotator[name] = report.new_by_annotator.get(name, 0) + 1
    report.progress = progress(store, split)
    return report


def spread(records: Sequence[int], annotators: Sequence[str], overlap: float, seed: int,
           held: dict[str, int] | None = None) -> list[tuple[int, tuple[str, ...]]]:
    """Who gets each record, in record order: `round(overlap * n)` records (chosen by the seed)
    get two distinct annotators, the rest one; each goes to whoever holds fewest so far
    (counting `held`), ties broken by an order the seed shuffles."""
    rng = random.Random(seed)
    order = list(annotators)
    rng.shuffle(order)
    shuffled = list(records)
    rng.shuffle(shuffled)
    doubled = set(shuffled[:round(overlap * len(shuffled))]) if len(order) > 1 else set()
    load = {name: (held or {}).get(name, 0) for name in order}
    chosen: dict[int, tuple[str, ...]] = {}
    for record in shuffled:
        ranked = sorted(order, key=lambda name: load[name])  # stable: ties keep the seeded order
        names = tuple(ranked[:2] if record in doubled else ranked[:1])
        for name in names:
            load[name] += 1
        order = order[1:] + order[:1]  # rotate, so ties do not always favour the same person
        chosen[record] = names
    return [(record, chosen[record]) for record in records]


def progress(store: ProjectStore, split: Split | None = None) -> list[Progress]:
    """Per annotator: records assigned and records labelled (an annotation exists), counted in SQL."""
    r, a, n = store.records, store.assignments, store.annotations
    query = (select(a.c.annotator, func.count().label("assigned"), func.count(n.c.record_id).label("done"))
             .select_from(a.join(r, r.c.id == a.c.record_id)
                          .outerjoin(n, and_(n.c.record_id == a.c.record_id, n.c.annotator == a.c.annotator)))
             .where(r.c.idx.is_not(None))
             .group_by(a.c.annotator).order_by(a.c.annotator))
    if split is not None:
        query = query.where(r.c.split == split)
    with store.engine.connect() as conn:
        return [Progress(row.annotator, row.assigned, row.done) for row in conn.execute(query).all()]


@dataclass(frozen=True)
class QueueItem:
    """A record in an annotator's queue, and whether they have labelled it."""

    split: Split
    index: int
    done: bool


def queue(store: ProjectStore, annotator: str, split: Split | None = None) -> list[QueueItem]:
    """The records assigned to `annotator`, in split and file order."""
    r, a, n = store.records, store.assignments, store.annotations
    query = (select(r.c.split, r.c.idx, n.c.record_id.label("done"))
             .select_from(a.join(r, r.c.id == a.c.record_id)
                          .outerjoin(n, and_(n.c.record_id == a.c.record_id, n.c.annotator == a.c.annotator)))
             .where(a.c.annotator == annotator, r.c.idx.is_not(None))
             .order_by(r.c.split.desc(), r.c.idx))
    if split is not None:
        query = query.where(r.c.split == split)
    with store.engine.connect() as conn:
        return [QueueItem(row.split, row.idx, row.done is not None) for row in conn.execute(query).all()]


def next_in_queue(items: Sequence[QueueItem], current: tuple[str, int] | None = None) -> QueueItem | None:
    """The first record not yet labelled after `current` (split, index), wrapping; None when all are done."""
    keys = [(item.split, item.index) for item in items]
    start = keys.index(current) + 1 if current in keys else 0
    for item in [*items[start:], *items[:start]]:
        if not item.done and (item.split, item.index) != current:
            return item
    return None


def has_assignments(store: ProjectStore, split: Split | None = None) -> bool:
    """Whether any record (of the split) is assigned: a project without is single-user, untouched."""
    r, a = store.records, store.assignments
    query = select(a.c.id).limit(1)
    if split is not None:
        query = select(a.c.id).join(r, r.c.id == a.c.record_id).where(r.c.split == split).limit(1)
    with store.engine.connect() as conn:
        return conn.execute(query).first() is not None
