"""The 21-field customers editor of Review (gold) and Inference (corrections), saved at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from pages.language import _
from pages.record_panes import customers_tables
from pages.unsaved_edits import save_in_callback
from roleext.markup import escape_markdown
from roleext.review import customer_cells, customer_from_form, options_for, to_form
from roleext.schema import FIELDS, NAME_FIELD, Field, empty_customer


def customers_in_form(key: str, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customers as the editor's widgets hold them; a widget not drawn yet holds its stored value."""
    return [customer_from_form({spec.name: st.session_state.get(f"{key}_{i}_{spec.name}",
                                                                 to_form(spec, customer.get(spec.name, spec.empty())))
                                for spec in FIELDS}) for i, customer in enumerate(customers)]


def _show(key: str, source: str, customers: list[dict[str, Any]]) -> None:
    """Put `customers` in the widgets unless they already hold them (same `source`, none forgotten).

    The widgets' keys name a place on the page, not a record: moving to the next record then
    updates the boxes the browser already has instead of building 21 new ones a customer,
    which was most of what a reviewer waited for after "Next". The stored values go into the
    session before the widgets are drawn, so a new record or version always shows the
    database. Streamlit forgets a widget that a run did not draw (another page, a closed
    record), and a forgotten box would come back empty: then the values are put back too.
    """
    shown = f"{key}__shows"
    values = _values(key, customers)
    if st.session_state.get(shown) == source and all(k in st.session_state for k in values):
        return
    st.session_state.update(values)
    st.session_state[shown] = source


def _values(key: str, customers: list[dict[str, Any]], only: int | None = None) -> dict[str, Any]:
    """The widget values of the customers (of the one at position `only`), by widget key."""
    return {f"{key}_{i}_{spec.name}": to_form(spec, customer.get(spec.name, spec.empty()))
            for i, customer in enumerate(customers) if only in (None, i) for spec in FIELDS}


def _field(place: DeltaGenerator, spec: Field, key: str, value: Any, changed: Callable[[], None]) -> None:
    """One field's widget; its value is in the session already (`_show`)."""
    if spec.closed:  # the choices may be chat text and pills render Markdown: escaped
        place.pills(spec.name, options_for(spec, value), selection_mode="single" if spec.kind == "str" else "multi",
                    format_func=escape_markdown, wrap=True, key=key, on_change=changed)
    elif spec.kind == "list":
        place.text_area(_("{field} (one a line)").format(field=spec.name), key=key, on_change=changed, height=68)
    else:
        place.text_input(spec.name, key=key, on_change=changed)


def edit_toggle_key(key: str, opened_for: str) -> str:
    """The key of the "Edit" switch: it names the record, so the next record opens read-only."""
    return f"{key}_edit_{opened_for}"


def customer_title(position: int, customer: dict[str, Any]) -> str:
    """"Customer 2: 王五", the name as it is (Markdown is for an expander's label to escape)."""
    return _("Customer {n}: {name}").format(n=position + 1, name=str(customer.get(NAME_FIELD) or "") or _("(no name)"))


def customers_editor(customers: list[dict[str, Any]], key: str,
                     on_save: Callable[[list[dict[str, Any]]], object], source: str | None = None,
                     read_only_for: str | None = None, locked: bool = False) -> None:
    """Editable customers: closed fields as pills that keep unknown values, free ones as text.

    `source` names the customers shown (record and version, say): when it changes, the boxes
    take the new values whatever they held; without it `key` names them. Every change calls
    `on_save(customers)` at once with all customers as the form holds them; a refusal is a
    toast, a conflict keeps the text on screen (`pages.unsaved_edits`).
    Closed fields are pills, not (multi)selects: every choice is readable in full (a select
    cut its third tag) and they cost the browser far less to draw when the record changes.
    With `read_only_for` (the record, say) the customers show as tables, one element for
    them all (`pages.record_panes`), under an "Edit" switch that opens their widgets: 21
    widgets a customer were half of what the browser redrew on "Next", and most records are
    read and accepted, not edited. `locked` shows the tables only, for someone who may not
    edit them (an annotator, on a record not theirs).
    """
    _show(key, key if source is None else source, customers)

    def changed() -> None:
        save_in_callback(lambda: on_save(customers_in_form(key, customers)))

    def remove(position: int) -> None:
        current = customers_in_form(key, customers)
        save_in_callback(lambda: on_save(current[:position] + current[position + 1:]))

    def opened() -> None:
        # Boxes drawn again after a run without them: the browser may still hold what they showed
        # before (another record's values), and takes ours only when this run sets them.
        if st.session_state.get(edit_toggle_key(key, str(read_only_for))):
            st.session_state.update(_values(key, customers))

    def add() -> None:
        save_in_callback(lambda: on_save([*customers_in_form(key, customers), empty_customer()]))

    if locked or (read_only_for is not None and not st.toggle(
            _("Edit"), key=edit_toggle_key(key, read_only_for), on_change=opened)):
        customers_tables([(customer_title(i, c), customer_cells(c)) for i, c in enumerate(customers)],
                         none=_("No customer."), key=f"{key}_tables")
        if not customers and not locked:  # nothing to switch to Edit for: the first one is one click
            st.button(_("Add a customer"), key=f"{key}_add", on_click=add)
        return
    for i, customer in enumerate(customers):
        with st.expander(escape_markdown(customer_title(i, customer)), expanded=len(customers) == 1):
            pair: list[DeltaGenerator] = []  # two fields a row; a list of choices takes a row of its own
            for spec in FIELDS:
                if spec.closed and spec.kind == "list":
                    pair, place = [], st.container()
                else:
                    pair = pair or list(st.columns(2))
                    place = pair.pop(0)
                _field(place, spec, f"{key}_{i}_{spec.name}", customer.get(spec.name, spec.empty()), changed)
            st.button(_("Remove this customer"), key=f"{key}_{i}_remove", on_click=remove, args=(i,))
    st.button(_("Add a customer"), key=f"{key}_add", on_click=add)
