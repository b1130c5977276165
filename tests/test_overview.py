"""The Data page's figures per split."""

from __future__ import annotations

from roleext.io import Split
from roleext.overview import split_overviews
from roleext.project import RecordInfo, ReviewStatus


def info(split: Split, index: int, chars: int, customers: int = 1) -> RecordInfo:
    return RecordInfo(id=index, split=split, index=index, status=ReviewStatus.PENDING, chat_chars=chars,
                      customers=customers, has_summary=False, has_prediction=False)


def test_each_split_counts_its_records_customers_and_long_chats_and_its_true_median() -> None:
    infos = [info("train", i, n, 2) for i, n in enumerate((300, 100, 9_000, 200), 1)] + [info("test", 5, 50)]
    train, test = split_overviews(infos)
    assert (train.split, train.records, train.customers, train.over_limit) == ("train", 4, 8, 1)
    assert train.median_chars == 250  # the middle two averaged, not the upper one (300)
    assert (test.split, test.records, test.median_chars) == ("test", 1, 50)
