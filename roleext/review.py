"""The review workflow without the UI: warnings, addresses, undo, form values (the record list: `record_list`).

The Review page lays these out; everything it decides is decided here and tested alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from roleext.annotations import annotations_of, assignees, get_annotation, save_annotation
from roleext.chat import squash
from roleext.errors import ConflictError, NotFoundError, Problem, RoleextError
from roleext.i18n import _
from roleext.io import Split
from roleext.labels import status_name
from roleext.lint import lint_customer
from roleext.project import HistoryEntry, Record, ReviewStatus
from roleext.roles import Person, may, may_edit_record, single_user
from roleext.schema import FIELDS, NAME_FIELD, Customer, Field, complete_customer, value_text
from roleext.store import ProjectStore, default_author
from roleext.support import unsupported

HISTORY_TEXT_WIDTH = 160
"""Characters of a before or after value shown in the history table."""

LIST_ITEM_SEPARATOR = "\n"
"""Free list fields (参与人) are edited one item a line."""


def record_warnings(record: Record) -> list[Problem]:
    """What a reviewer should look at: gold the summary lost, gold the chat lacks, label noise."""
    warnings: list[Problem] = []
    if record.summary is not None:
        for value in unsupported(record.gold, record.summary.current, record.chat_text):
            warnings.append(Problem(_("{value!r} is in the chat but not in the summary: the model would have to "
                                      "invent it").format(value=value.value), record.index, value.field,
                                    value.customer, severity="warning"))
    chat = squash(record.chat_text)
    for number, customer in enumerate(record.gold, start=1):
        for spec in FIELDS:
            text = customer.get(spec.name)
            if spec.verbatim and isinstance(text, str) and text and squash(text) not in chat:
                warnings.append(Problem(_("{value!r} does not occur in the chat").format(value=text), record.index,
                                        spec.name, number, severity="warning"))
        warnings.extend(lint_customer(customer, record.index, number))
    return warnings


@dataclass(frozen=True)
class RecordAddress:
    """Where a record lives, as the Review page's URL says it: `?split=train&record=19`."""

    split: Split
    index: int

    def query(self) -> dict[str, str]:
        return {"split": self.split, "record": str(self.index)}


def record_address(query: Mapping[str, str]) -> RecordAddress | None:
    """The record a URL's query names, or None when it names none (or nothing valid)."""
    split, record = query.get("split"), query.get("record", "")
    if split not in ("train", "test") or not record.isascii() or not record.isdigit():
        return None
    return RecordAddress("train" if split == "train" else "test", int(record))


# --- edits and undo -------------------------------------------------------------------

UNDOABLE = ("summary", "gold", "status", "prediction")
"""History targets a reviewer edits, and undo walks back through."""

_UNDO_AUTHOR = re.compile(r"^(?P<who>.*) \(undo of #(?P<id>\d+)\)$")


def undo_author(author: str, undone: HistoryEntry) -> str:
    """The history author of an undo: who undid, and which entry (the store has no column for it)."""
    return f"{author} (undo of #{undone.id})"


def reviewer_of(author: str) -> str:
    """Who made a history entry, without the undo it may have been: "ann (undo of #3)" is ann."""
    match = _UNDO_AUTHOR.match(author)
    return match["who"] if match else author


def undone_id(entry: HistoryEntry) -> int | None:
    """The id of the entry `entry` undid, or None when it is an edit of its own."""
    match = _UNDO_AUTHOR.match(entry.author)
    return int(match["id"]) if match else None


def next_undo(history: list[HistoryEntry]) -> HistoryEntry | None:
    """The newest human edit not yet undone: what the next undo reverts.

    Undos are not undone themselves, so clicks walk back one edit at a time. A summary, or
    a run's prediction, that a later job replaced ("generated") is out of reach, with the
    edits of it before: undoing them would overwrite the job's output. Other runs'
    predictions are other targets: a job in one run leaves the corrections of another in reach.
    """
    undone: set[int] = set()
    replaced: set[tuple[str, int | None]] = set()
    for entry in reversed(history):
        if entry.target == "import" and entry.before["gold"] != entry.after["gold"]:
            replaced.add(("gold", None))  # undoing an older gold edit would silently revert the import
        if entry.target not in UNDOABLE or (entry.target, entry.run) in replaced:
            continue
        if entry.author == "generated":
            replaced.add((entry.target, entry.run))
            continue
        target = undone_id(entry)
        if target is not None:
            undone.add(target)
        elif entry.id not in undone:
            return entry
    return None


def undo_last_edit(store: ProjectStore, record: Record, author: str | None = None) -> str:
    """Revert the record's newest edit not yet undone by writing its `before` back (itself an edit)."""
    last = next_undo(store.history_of(record.id))
    if last is None:
        raise NotFoundError(_("this record has no edit to undo"))
    who = undo_author(author or default_author(), last)
    if last.target == "gold":
        store.update_gold(record.id, last.before, record.version, who)
    elif last.target == "status":
        store.set_status(record.id, ReviewStatus(last.before), record.version, who)
    elif last.target == "summary":
        if record.summary is None:
            raise RoleextError(_("the summary this edit belonged to is gone"))
        store.edit_summary(record.id, last.before, record.summary.version, who)
    else:
        prediction = store.get_record(record.split, record.index, run=last.run).prediction if last.run else None
        if prediction is None:
            raise RoleextError(_("the prediction this edit belonged to is gone"))
        store.correct_prediction(record.id, last.before, prediction.version, who, run=prediction.run)
    return _("undid the {target} edit by {author} at {time:%Y-%m-%d %H:%M}").format(
        target=target_name(last.target), author=last.author, time=last.at)


def target_name(target: str, run: int | None = None) -> str:
    """What an edit changed (a history target), as a reader calls it: a prediction with its run."""
    names = {"summary": _("summary"), "gold": _("gold"), "status": _("status"),
             "prediction": _("prediction"), "import": _("import")}
    name = names.get(target, target)
    return _("{target} of run {run}").format(target=name, run=run) if run is not None else name


def _clip(text: str, width: int = HISTORY_TEXT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _text_change(before: str, after: str, context: int = 15) -> tuple[str, str]:
    """The part of a text that changed, with a little context either side."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    head = ("…" if start > context else "") + before[max(0, start - context):start]
    tail = after[len(after) - end:][:context] + ("…" if end > context else "")
    return (_clip(head + before[start:len(before) - end] + tail),
            _clip(head + after[start:len(after) - end] + tail))


def _customers_change(before: list[Customer], after: list[Customer]) -> tuple[str, str]:
    """Only the fields that changed, customer by customer: `customer 1 基本信息-邮箱: x`."""
    old: list[str] = []
    new: list[str] = []
    for number in range(1, max(len(before), len(after)) + 1):
        was = before[number - 1] if number <= len(before) else None
        now = after[number - 1] if number <= len(after) else None
        if was is None or now is None:
            name = value_text((was or now or {}).get(NAME_FIELD, ""))
            (new if was is None else old).append(_("customer {n} ({name})").format(n=number, name=name))
            (old if was is None else new).append(_("customer {n}: none").format(n=number))
            continue
        for spec in FIELDS:
            if was.get(spec.name, spec.empty()) != now.get(spec.name, spec.empty()):
                old.append(_("customer {n} {field}: {value}").format(n=number, field=spec.name,
                                                                      value=value_text(was.get(spec.name))))
                new.append(_("customer {n} {field}: {value}").format(n=number, field=spec.name,
                                                                      value=value_text(now.get(spec.name))))
    return _clip(_("; ").join(old) or _("(no change)")), _clip(_("; ").join(new) or _("(no change)"))


def _resolved_text(value: Any) -> str:
    """A resolution's history value (customer, field, value) as a reader reads it."""
    if not isinstance(value, dict):
        return _("(none)")
    return _("customer {n} {field}: {value}").format(n=value.get("customer"), field=value.get("field"),
                                                     value=value_text(value.get("value")))


def _status_text(value: Any) -> str:
    """A review status in history as the rest of the page names it (待审核, not pending)."""
    try:
        return status_name(ReviewStatus(value))
    except ValueError:
        return value_text(value)


def history_rows(history: list[HistoryEntry]) -> list[dict[str, str]]:
    """The record's history as a reader wants it: newest first, each edit's before and after."""
    by_id = {entry.id: entry for entry in history}
    rows = []
    for entry in reversed(history):
        who, what = entry.author, _("{target} edit").format(target=target_name(entry.target, entry.run))
        match = _UNDO_AUTHOR.match(entry.author)
        if match:
            undone = by_id.get(int(match["id"]))
            who = match["who"]
            what = (_("undo of #{id} ({target} edit)").format(id=match["id"], target=target_name(undone.target))
                    if undone else _("undo of #{id}").format(id=match["id"]))
        elif entry.author == "generated":
            who, what = _("generated"), _("{target} replaced by a job's output").format(
                target=target_name(entry.target, entry.run))
        if entry.target == "import":
            what, before, after = (_("re-imported from the file"), _("chat and gold as imported before"),
                                   _("as in the file"))
        elif entry.target in ("gold", "prediction"):
            before, after = _customers_change(entry.before or [], entry.after or [])
        elif entry.target == "annotation":
            what = _("edit of {annotator}'s labels").format(annotator=entry.annotator)
            before, after = _customers_change(entry.before or [], entry.after or [])
        elif entry.target == "resolution":
            what = _("resolution of a disagreement")
            before, after = _resolved_text(entry.before), _resolved_text(entry.after)
        elif entry.target == "summary":
            before, after = _text_change(entry.before or "", entry.after or "")
        elif entry.target == "status":
            before, after = _status_text(entry.before), _status_text(entry.after)
        else:
            before, after = value_text(entry.before), value_text(entry.after)
        rows.append({"#": str(entry.id), "when": f"{entry.at:%Y-%m-%d %H:%M:%S}", "who": who, "what": what,
                     "before": before, "after": after})
    return rows


@dataclass(frozen=True)
class FormValues:
    """What the Review page's boxes hold for a record, saved or not; None where there is no box."""

    summary: str | None = None
    gold: list[Customer] | None = None


@dataclass(frozen=True)
class UnsavedEdit:
    """A reviewer's text that a conflict kept out of the database, held so it is not lost."""

    split: Split
    index: int
    target: str
    text: str
    reason: str

    @property
    def message(self) -> str:
        return _("Your {target} edit of {split} record {index} was not saved: {reason}. Your text is below, to "
                 "copy or apply again.").format(target=target_name(self.target), split=self.split,
                                                index=self.index, reason=self.reason)


class UnsavedEditConflict(ConflictError):
    """A save refused because another tab saved first; carries the text that was not saved."""

    def __init__(self, unsaved: UnsavedEdit) -> None:
        self.unsaved = unsaved
        super().__init__(unsaved.message)


def gold_in_form(customers: list[Customer]) -> list[Customer]:
    """Customers as the form would hand them back untouched (stripped, lists split), to compare."""
    return [customer_from_form({spec.name: to_form(spec, c.get(spec.name, spec.empty())) for spec in FIELDS})
            for c in customers]


class RecordEditor:
    """One reviewer's edits of one record, each based on the versions this session last read or wrote.

    The page keeps it across runs, so saves triggered together (a typed summary committed by
    the key press that accepts the record) chain on each other's versions instead of
    conflicting, while a save by another tab still conflicts.
    """

    def __init__(self, store: ProjectStore, record: Record, author: str | None = None, *,
                 person: Person | None = None) -> None:
        self.store = store
        self.author = author if person is None else person.name
        self.person = person if person is not None else single_user(author or default_author())
        """Whose rights the edits need (roleext.roles); without one, every right (the command line, tests)."""
        self.assigned: list[str] = []
        """Who the record is assigned to: non-empty in team mode (roleext.annotations)."""
        self.annotation_version = 0
        """The version of this author's annotation of the record in team mode; 0 before the first edit."""
        self.seen(record)

    @property
    def annotator(self) -> str:
        """This person's name as an annotator (their own labels are under it in team mode)."""
        return self.author or default_author()

    def may_edit(self) -> bool:
        """Whether this person may change the record: an annotator only one assigned to them."""
        return may_edit_record(self.person, self.record.id, lambda _record: self.annotator in self.assigned)

    def may_edit_summary(self) -> bool:
        """Whether this person may change the summary: on a team record it is shared by every
        annotator's labels (and the fine-tuning input), so it is a reviewer's, not an annotator's."""
        return self.may_edit() and (not self.assigned or may(self.person, "edit_any"))

    def labels_own(self) -> bool:
        """Whether the gold shown is this person's own labels (a team record assigned to them)."""
        return self.annotator in self.assigned

    def may_edit_gold(self) -> bool:
        """Whether the gold boxes take edits: not on a record two annotators labelled, for anyone but
        them (their disagreements are settled on the Agreement page, field by field)."""
        return self.may_edit() and (self.labels_own() or not self.labelled_twice)

    def may_set_status(self) -> bool:
        """Whether this person sets review statuses (an annotator's Accept only marks their labels done)."""
        return may(self.person, "set_status")

    def _check_may_edit(self) -> None:
        if not self.may_edit():
            record = self.record
            raise RoleextError(_("{split} record {index} is not assigned to you: an annotator edits only the records "
                                 "in their queue; ask an admin to assign it to you").format(
                                     split=record.split, index=record.index))

    def seen(self, record: Record) -> None:
        """The record as the page just read it; in team mode its gold is this author's annotation
        (the record's own gold until their first edit), which is what the page must show."""
        self.assigned = assignees(self.store, record.id)
        self.labels_of: str | None = None
        """Whose labels the page shows and edits: this person's own on a record assigned to them; for
        a reviewer, the one annotator's who labelled it (what exports use). None: the record's gold."""
        self.labelled_twice = False
        """Two annotators labelled it and this person is neither: the Agreement page settles it."""
        if self.annotator in self.assigned:
            self.labels_of = self.annotator
        elif self.assigned and may(self.person, "edit_any"):
            labels = annotations_of(self.store, record.id)
            self.labelled_twice = len(labels) >= 2
            self.labels_of = labels[0].annotator if labels else None
        annotation = get_annotation(self.store, record.id, self.labels_of) if self.labels_of else None
        self.annotation_version = 0 if annotation is None else annotation.version
        self.labels_outdated = annotation is not None and annotation.outdated
        """The labels shown were made for an earlier version of the chat: to look at again."""
        self.record = record if annotation is None else replace(record, gold=annotation.infos)

    @property
    def gold_source(self) -> str:
        """Names the gold the page shows (record, its version, the annotation's): the boxes reload when it changes."""
        return f"{self.record.id}_{self.record.version}_{self.annotation_version}"

    def save(self, form: FormValues) -> list[str]:
        """Write what the form holds that differs from the record; the targets written."""
        saved = []
        record = self.record
        summary = record.summary
        if form.summary is not None and summary is not None and form.summary != summary.current:
            self._check_may_edit()
            if not self.may_edit_summary():
                raise RoleextError(_("the summary of {split} record {index} is shared by its annotators: a reviewer "
                                     "edits it").format(split=record.split, index=record.index))
            try:
                version = self.store.edit_summary(record.id, form.summary, summary.version, self.author)
            except ConflictError as exc:
                raise UnsavedEditConflict(UnsavedEdit(record.split, record.index, "summary", form.summary,
                                                      str(exc))) from exc
            self.record = record = replace(record, summary=replace(summary, edited_text=form.summary,
                                                                   version=version))
            saved.append("summary")
        if form.gold is not None and form.gold != gold_in_form(record.gold):
            self.save_gold(form.gold)
            saved.append("gold")
        return saved

    def save_gold(self, customers: list[Customer]) -> None:
        """Replace the gold customers (adding or removing one, say).

        In team mode (the record is assigned) the edit goes to the labels shown (`labels_of`), never
        to the record's gold: two annotators of one record each keep their own labels, and a
        reviewer corrects the one annotator's labels exports use. Two annotators' labels are
        settled on the Agreement page instead; anyone else is refused."""
        self._check_may_edit()
        record = self.record
        if self.assigned and (self.labels_of is not None or not may(self.person, "edit_any")):
            self._save_annotation(customers)
            return
        try:  # single-user, or a reviewer before anyone labelled: the gold annotators start from
            version = self.store.update_gold(record.id, customers, record.version, self.author)
        except ConflictError as exc:
            text = json.dumps(customers, ensure_ascii=False, indent=2)
            raise UnsavedEditConflict(UnsavedEdit(record.split, record.index, "gold", text, str(exc))) from exc
        self.record = replace(record, gold=customers, version=version)

    def _save_annotation(self, customers: list[Customer]) -> None:
        record = self.record
        if self.labelled_twice and not self.labels_own():
            raise RoleextError(_("{split} record {index} was labelled by two annotators: your edit was not saved; "
                                 "settle their disagreements on the Agreement page").format(
                                     split=record.split, index=record.index))
        if self.labels_of is None:
            raise RoleextError(_("{split} record {index} is assigned to {names}, not to {you}: your edit was not "
                                 "saved; ask an admin to assign it to you").format(
                                     split=record.split, index=record.index, names=", ".join(self.assigned),
                                     you=self.annotator))
        try:
            version = save_annotation(self.store, record.id, self.labels_of, customers, self.annotation_version,
                                      self.author)
        except ConflictError as exc:
            text = json.dumps(customers, ensure_ascii=False, indent=2)
            raise UnsavedEditConflict(UnsavedEdit(record.split, record.index, "gold", text, str(exc))) from exc
        self.annotation_version = version
        self.record = replace(record, gold=customers)

    def correct_prediction(self, customers: list[Customer]) -> None:
        """Save a correction of the prediction; a conflict keeps the correction to re-apply."""
        record, prediction = self.record, self.record.prediction
        if prediction is None:
            raise RoleextError(_("{split} record {index} has no prediction to correct").format(
                split=record.split, index=record.index))
        try:
            version = self.store.correct_prediction(record.id, customers, prediction.version, self.author,
                                                    run=prediction.run)
        except ConflictError as exc:
            text = json.dumps(customers, ensure_ascii=False, indent=2)
            raise UnsavedEditConflict(UnsavedEdit(record.split, record.index, "prediction", text,
                                                  str(exc))) from exc
        self.record = replace(record, prediction=replace(prediction, corrected=customers, version=version))

    def set_status(self, status: ReviewStatus, form: FormValues) -> None:
        """Save what the form holds first, then the status: a shortcut never loses typed text.

        An annotator sets no status: their Accept marks their labels of an assigned record done."""
        self.save(form)
        sets_status = self.may_set_status()
        if not sets_status and (status != ReviewStatus.ACCEPTED or not self.labels_own()):
            raise RoleextError(_("Only a reviewer sets a record's review status; as an annotator, Accept marks "
                                 "your labels of a record assigned to you as done"))
        if self.labels_own() and (self.annotation_version == 0 or self.labels_outdated):
            # Labelled as shown, on the chat as it is now: the record counts as done in their queue.
            self._save_annotation(self.record.gold)
            self.labels_outdated = False
        if not sets_status:
            return
        version = self.store.set_status(self.record.id, status, self.record.version, self.author)
        self.record = replace(self.record, status=status, version=version)

    def visible_history(self, history: list[HistoryEntry]) -> list[HistoryEntry]:
        """The history this person may read: an annotator never sees another annotator's labels
        (nor the resolutions of them), or blind double annotation would not be blind."""
        if may(self.person, "edit_any"):
            return history
        return [entry for entry in history if entry.target != "resolution"
                and (entry.target != "annotation" or entry.annotator == self.annotator)]

    def may_undo(self, entry: HistoryEntry) -> bool:
        """Whether this person may revert `entry`: only what they may edit, a status only if they set
        statuses, and for an annotator only their own edits (never a reviewer's or a teammate's)."""
        if not self.may_edit() or (entry.target == "status" and not self.may_set_status()):
            return False
        return may(self.person, "edit_any") or reviewer_of(entry.author) == self.annotator

    def undo(self) -> str:
        """Undo the newest edit not yet undone; a message saying which."""
        last = next_undo(self.store.history_of(self.record.id))
        if last is not None and not self.may_undo(last):
            raise RoleextError(_("the newest edit of {split} record {index} is {who}'s {target} edit: you may not "
                                 "undo it").format(split=self.record.split, index=self.record.index,
                                                   who=reviewer_of(last.author), target=target_name(last.target)))
        message = undo_last_edit(self.store, self.record, self.author)
        self.seen(self.store.get_record(self.record.split, self.record.index))
        return message


# --- form values ----------------------------------------------------------------------


def options_for(spec: Field, value: Any) -> list[str]:
    """Choices for a closed field: the known values plus any current value outside them,
    so a value the user did not remove never disappears on save. A single choice is
    cleared by unselecting it, so no blank choice is offered."""
    current = value if isinstance(value, list) else [value] if value else []
    extra = [v for v in current if v not in spec.known]
    return [*spec.known, *extra]


def to_form(spec: Field, value: Any) -> Any:
    """A stored value as its widget holds it: free lists one item a line, an empty single choice None."""
    if spec.kind == "list" and not spec.closed:
        return LIST_ITEM_SEPARATOR.join(value or [])
    if spec.kind == "str" and spec.closed:
        return value or None
    return value


def from_form(spec: Field, value: Any) -> str | list[str]:
    """A widget's value as stored."""
    if spec.kind == "list":
        if isinstance(value, str):
            return [line.strip() for line in value.split(LIST_ITEM_SEPARATOR) if line.strip()]
        return [str(v) for v in value or []]
    return "" if value is None else str(value).strip()


def customer_cells(customer: Customer, empty: str = "—") -> list[tuple[str, str]]:
    """A customer's 21 fields as (name, value) pairs in the schema's order, each value as text:
    what the read-only table of a customer shows (pages.record_panes)."""
    return [(spec.name, value_text(customer.get(spec.name), empty)) for spec in FIELDS]


def customer_from_form(values: dict[str, Any]) -> Customer:
    """A full 21-key customer from widget values keyed by field name."""
    return complete_customer({spec.name: from_form(spec, values.get(spec.name, spec.empty())) for spec in FIELDS})
