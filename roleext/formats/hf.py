"""The curated data as a folder Hugging Face `datasets` loads: Parquet per split, and a dataset card.

`datasets.load_dataset(folder)` finds `data/{split}-*.parquet` through the card's `configs`;
pandas and pyarrow read the files directly. Gold customers are a list of structs with the 21
fields (lists stay lists), so a hub viewer shows them as fields, not as JSON text. Rows are
written in row groups of a few hundred records, so memory stays flat however large the project.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from roleext import __version__
from roleext.errors import ExportError, UsageError
from roleext.exports import ExportReport, with_export_gold
from roleext.formats.dataset import Scope, batched, in_scope, left_out_reasons
from roleext.i18n import N_, _
from roleext.io import SPLITS, Split
from roleext.project import Record
from roleext.schema import FIELDS, complete_customer
from roleext.store import ProjectStore

CUSTOMER_TYPE = pa.struct([(f.name, pa.list_(pa.string()) if f.kind == "list" else pa.string()) for f in FIELDS])
SCHEMA = pa.schema([
    ("index", pa.int32()),
    ("chat_text", pa.string()),
    ("summary", pa.string()),
    ("infos", pa.list_(CUSTOMER_TYPE)),
    ("status", pa.string()),
])
COLUMNS = {
    "index": "the record's 1-based position in its split, as in the competition's files",
    "chat_text": "the group chat, one message a line (`Speaker：text`)",
    "summary": "the reviewed summary a model reads, null where there is none (or it is of an older chat)",
    "infos": "the gold customers, corrections applied: each a struct of the 21 fields below (empty in test)",
    "status": "the review status: pending, accepted or needs-fix (rejected records are left out "
              "unless every record was asked for)",
}
ROW_GROUP = 500


@dataclass
class HfReport(ExportReport):
    """An export report that also says how many records each split's file holds."""

    sizes: dict[Split, int] = field(default_factory=dict)

    def lines(self, problems: bool = True) -> list[str]:
        out = super().lines(problems)
        sizes = ", ".join(f"{split} {n:,}" for split, n in self.sizes.items() if n)
        return [out[0] + _(" (by split: {sizes})").format(sizes=sizes or "-"), *out[1:]]


KIND = N_("Hugging Face dataset")


def data_file(split: Split) -> str:
    """Where a split's Parquet file goes: the name `datasets` maps to the split by itself."""
    return f"data/{split}-00000-of-00001.parquet"


def hf_row(record: Record) -> dict[str, Any]:
    return {"index": record.index, "chat_text": record.chat_text, "summary": record.model_input("summary"),
            "infos": [complete_customer(c) for c in record.gold], "status": record.status.value}


def dataset_card(sizes: dict[Split, int]) -> str:
    """The README.md `datasets` and the hub read: the splits' files, where the data came from, the fields."""
    configs = "".join(f"  - split: {split}\n    path: {data_file(split).replace('00000-of-00001', '*')}\n"
                      for split in sizes)
    fields = "\n".join(f"  - `{f.name}` ({'list of strings' if f.kind == 'list' else 'string'}, weight {f.weight})"
                       for f in FIELDS)
    columns = "\n".join(f"- `{name}`: {text}" for name, text in COLUMNS.items())
    splits = "\n".join(f"| {split} | {n:,} |" for split, n in sizes.items())
    return f"""---
configs:
- config_name: default
  data_files:
{configs}language:
- zh
---
# Role-element extraction from group chats (curated with roleext)

Source: the chats and gold of the iFlytek 2024 challenge "基于星火大模型的群聊对话分角色要素提取"
(train.json, test_data.json), reviewed and corrected in a roleext project and exported by
roleext {__version__} on {datetime.now(UTC):%Y-%m-%d}. Each chat is a support group's transcript; the gold
holds one dict of 21 fields per customer.

| split | records |
|---|---|
{splits}

## Fields
{columns}

The 21 fields of each customer in `infos`:
{fields}
"""


def _write_split(store: ProjectStore, split: Split, folder: Path, scope: Scope, report: ExportReport) -> int:
    """Write one split's Parquet file (none when no record is in scope); how many records it holds."""
    writer: pq.ParquetWriter | None = None
    count = 0
    try:
        for batch in batched(with_export_gold(store, split, in_scope(store.iter_records(split), scope, report), report),
                             ROW_GROUP):
            if writer is None:
                path = folder / data_file(split)
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(path, SCHEMA)
            writer.write_table(pa.Table.from_pylist([hf_row(r) for r in batch], schema=SCHEMA))
            count += len(batch)
    finally:
        if writer is not None:
            writer.close()
    return count


def export_hf(store: ProjectStore, folder: Path, *, scope: Scope = "not-rejected") -> ExportReport:
    """Write the Hugging Face folder (Parquet per split and the card) into an empty `folder`."""
    report = HfReport(KIND)
    for split in SPLITS:
        count = _write_split(store, split, folder, scope, report)
        if count:
            report.sizes[split] = count
    report.rows = report.records = sum(report.sizes.values())
    if not report.sizes:
        raise ExportError(_("no record can be exported ({reasons})").format(
            reasons=left_out_reasons(report) or _("the project is empty")))
    (folder / "README.md").write_text(dataset_card(report.sizes), "utf-8")
    return report


def hf_report(store: ProjectStore, *, scope: Scope = "not-rejected") -> ExportReport:
    """What `export_hf` would write, counted without writing it (the Export page's report)."""
    report = HfReport(KIND)
    for split in SPLITS:
        report.sizes[split] = sum(1 for _record in in_scope(store.iter_records(split), scope, report))
    report.rows = report.records = sum(report.sizes.values())
    return report


def export_hf_zip(store: ProjectStore, out: BinaryIO, *, scope: Scope = "not-rejected",
                  root: str = "roleext_dataset") -> ExportReport:
    """The Hugging Face folder as a zip (the app's download), built in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="roleext-hf-") as work:
        folder = Path(work)
        report = export_hf(store, folder, scope=scope)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{root}/{path.relative_to(folder).as_posix()}")
    return report


def export_hf_folder(store: ProjectStore, out: Path, *, scope: Scope = "not-rejected") -> ExportReport:
    """Write the folder at `out` (new, or an empty folder) beside itself first, so a failed
    export leaves nothing behind."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(_("{path} exists and is not an empty folder; give a new folder for the dataset").format(
            path=out))
    if not out.parent.is_dir():
        raise UsageError(_("{path} does not exist (or is not a folder); create it first").format(path=out.parent))
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        report = export_hf(store, partial, scope=scope)
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return report
