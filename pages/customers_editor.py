"""The 21-field customers editor of Review (gold) and Inference (corrections), saved at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from pages.language import _
from pages.unsaved_edits import save_in_callback
from roleext.markup import escape_markdown
from roleext.review import customer_from_form, options_for, to_form
from roleext.schema import FIELDS, NAME_FIELD, empty_customer


def customers_in_form(key: str, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customers as the editor's widgets hold them; a widget not drawn yet holds its stored value."""
    return [customer_from_form({spec.name: st.session_state.get(f"{key}_{i}_{spec.name}",
                                                                 to_form(spec, customer.get(spec.name, spec.empty())))
                                for spec in FIELDS}) for i, customer in enumerate(customers)]


def customers_editor(customers: list[dict[str, Any]], key: str,
                     on_save: Callable[[list[dict[str, Any]]], object]) -> None:
    """Editable customers: closed fields as (multi)selects that keep unknown values, free ones as text.

    Every change calls `on_save(customers)` at once with all customers as the form holds them;
    a refusal is a toast, a conflict keeps the text on screen (`pages.unsaved_edits`).
    """
    def changed() -> None:
        save_in_callback(lambda: on_save(customers_in_form(key, customers)))

    def remove(position: int) -> None:
        current = customers_in_form(key, customers)
        save_in_callback(lambda: on_save(current[:position] + current[position + 1:]))

    def add() -> None:
        save_in_callback(lambda: on_save([*customers_in_form(key, customers), empty_customer()]))

    for i, customer in enumerate(customers):
        name = escape_markdown(str(customer.get(NAME_FIELD) or "")) or _("(no name)")
        with st.expander(_("Customer {n}: {name}").format(n=i + 1, name=name), expanded=len(customers) == 1):
            columns = st.columns(2)
            for j, spec in enumerate(FIELDS):
                column = columns[j % 2]
                widget_key = f"{key}_{i}_{spec.name}"
                value = customer.get(spec.name, spec.empty())
                if spec.closed and spec.kind == "str":
                    options = options_for(spec, value)
                    column.selectbox(spec.name, options, index=options.index(value), key=widget_key,
                                     on_change=changed, placeholder=_("Choose an option"))
                elif spec.closed:
                    column.multiselect(spec.name, options_for(spec, value), default=value, key=widget_key,
                                       on_change=changed, placeholder=_("Choose options"))
                elif spec.kind == "list":
                    column.text_area(_("{field} (one a line)").format(field=spec.name), to_form(spec, value),
                                     key=widget_key, on_change=changed, height=68)
                else:
                    column.text_input(spec.name, value, key=widget_key, on_change=changed)
            st.button(_("Remove this customer"), key=f"{key}_{i}_remove", on_click=remove, args=(i,))
    st.button(_("Add a customer"), key=f"{key}_add", on_click=add)
