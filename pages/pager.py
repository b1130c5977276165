"""Page controls for a table: which page of rows to show, and which rows those are."""

import streamlit as st

from pages.language import _
from roleext.paging import PAGE_ROWS, Page, page_of


def pager(total: int, key: str, size: int = PAGE_ROWS) -> Page:
    """A page number box (only where there is more than one page) and the rows it shows."""
    count = page_of(total, 1, size).count
    if count > 1:
        if st.session_state.get(key, 1) > count:  # the table shrank since: show its last page
            st.session_state[key] = count
        number = st.number_input(_("Page (of {count})").format(count=count), min_value=1, max_value=count,
                                 step=1, key=key)
    else:
        number = 1
    page = page_of(total, int(number), size)
    if count > 1:
        st.caption(_("rows {start}–{end} of {total}").format(start=page.start, end=page.end, total=page.total))
    return page
