"""Widgets and cached objects shared by the pages; layout only, every rule is in roleext."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from pages.session_settings import kept
from roleext.backends import SPARK_MODELS
from roleext.backends.choice import KEY_NAMES, BackendChoice, find_credentials, is_secret
from roleext.jobs import Estimate, Job, JobRegistry, estimate
from roleext.markup import escape_markdown, plural
from roleext.store import ProjectStore, database_url


def _leave_legacy_pages_mode() -> None:
    """Run every page through app.py's st.navigation, even on a server's very first request.

    Streamlit treats a folder named pages/ as a legacy multipage app until the entry script
    has called st.navigation; a first request straight to /review (a bookmark, after a
    restart) would run this page alone and list every file, common.py too, as a page.
    Leaving that mode and rerunning lets app.py resolve the same URL.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()  # every page imports this module first


@st.cache_resource
def _store(url: str) -> ProjectStore:
    return ProjectStore(url)


@st.cache_resource
def _registry(url: str) -> JobRegistry:
    return JobRegistry()


def project_store() -> ProjectStore:
    """The project database of this server process (ROLEEXT_DB, else ./roleext.db).

    A database that cannot be opened (a folder, a file that is not SQLite, a missing driver)
    stops the page with the reason, never a traceback."""
    from roleext.errors import RoleextError

    try:
        return _store(database_url())
    except RoleextError as exc:
        st.error(f"The project database cannot be opened: {escape_markdown(str(exc))}. "
                 "Set ROLEEXT_DB to another path and restart the app.")
        st.stop()
        raise  # st.stop() raises; this line only tells the type checker so


def job_registry() -> JobRegistry:
    return _registry(database_url())


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises on access
        return {}


def backend_form(prefix: str, default_model: str = "lite") -> BackendChoice:
    """Backend, model and keys. Typed keys stay in this session; found keys are named, not shown."""
    kind = st.selectbox("Backend", ["offline", "spark", "openai"], key=kept(f"{prefix}_kind", "offline"),
                        format_func={"offline": "Offline (built in, no key)", "spark": "iFlytek Spark",
                                     "openai": "OpenAI-compatible server"}.get)
    choice = BackendChoice(kind=kind)
    if kind == "offline":
        return choice
    found = find_credentials(KEY_NAMES[kind], os.environ, _secrets())
    if found:
        st.caption("Keys found: " + ", ".join(f"{name} ({where})" for name, (_, where) in found.items()))
    if kind == "spark":
        models = list(SPARK_MODELS)
        choice.model = st.selectbox("Model", models, key=kept(f"{prefix}_model", default_model
                                                              if default_model in models else models[0]))
        choice.spark_url = st.text_input("URL (blank: from the model)", key=kept(f"{prefix}_url", ""))
        choice.domain = st.text_input("Domain or service id (blank: from the model)",
                                      key=kept(f"{prefix}_domain", ""))
        choice.patch_id = st.text_input("Resource id (patch_id) of a fine-tuned model",
                                        key=kept(f"{prefix}_patch", ""))
        for name, attr in zip(KEY_NAMES["spark"], ("app_id", "api_key", "api_secret"), strict=True):
            typed = st.text_input(name, type="password" if is_secret(name) else "default",
                                  key=kept(f"{prefix}_{attr}", ""),
                                  placeholder="found" if name in found else "")
            setattr(choice, attr, typed)
    else:
        choice.base_url = st.text_input("Base URL", key=kept(f"{prefix}_base", "http://127.0.0.1:8000/v1"))
        choice.model = st.text_input("Model", key=kept(f"{prefix}_omodel", ""))
        choice.api_key = st.text_input("OPENAI_API_KEY", type="password", key=kept(f"{prefix}_key", ""),
                                       placeholder="found" if found else "")
    choice = choice.with_credentials(os.environ, _secrets())
    for problem in choice.warnings():
        st.warning(escape_markdown(problem))
    return choice


def fit_options(prefix: str) -> dict[str, Any]:
    """The context budget override and chunk overlap, for the job pages' sidebars."""
    chars = st.number_input("Characters per request (0: from the model's context)", 0, 500_000, step=1000,
                            key=kept(f"{prefix}_max_input", 0))
    overlap = st.number_input("Messages repeated between chunks of a long chat", 0, 20,
                              key=kept(f"{prefix}_overlap", 2))
    return {"max_input_chars": int(chars) or None, "overlap": int(overlap)}


def show_record_tasks(store: ProjectStore, kind: str, split: str) -> None:
    """Per record: its length, and what the last job did to fit it (cleaning, chunks, why) or its error."""
    from roleext.ledger import Ledger

    states = Ledger(store).states(kind)  # type: ignore[arg-type]
    rows = []
    for info in store.list_records(split):  # type: ignore[arg-type]
        state = states.get(info.id)
        stale = info.summary_stale if kind == "summarize" else info.prediction_stale
        rows.append({"record": info.index, "characters": info.chat_chars,
                     "status": "stale: the chat changed" if stale else state.status if state else "not run",
                     "what was done": (state.detail or "") if state else "",
                     "error": (state.error or "") if state else ""})
    with st.expander("Records: length, chunks and why", expanded=False):
        st.dataframe(rows, hide_index=True)


def estimate_with_overwrite(job: Job, what: str) -> tuple[Job, Estimate]:
    """The job's estimate, and a checkbox to redo outputs a person edited (off: they are kept).

    The checkbox says how many edits would go, so nobody overwrites work by accident."""
    plan = estimate(job)
    if plan.edited:
        overwrite = st.checkbox(
            f"Also redo the {plural(plan.edited, 'record')} whose {what} a person edited "
            f"({plural(plan.edited, 'edit')} replaced; each stays in the record's history)",
            key=kept(f"{job.spec.kind}_{job.spec.split}_overwrite", False))
        if overwrite:
            job = Job(job.store, job.backend, replace(job.spec, overwrite_edits=True))
            plan = estimate(job)
    return job, plan


def flash(kind: str, message: str) -> None:
    """Keep a Markdown message for the next page run (callbacks run before the page draws)."""
    st.session_state.setdefault("_flash", []).append((kind, message))


def save_or_flash(action: Callable[[], object]) -> bool:
    """Run a save from a widget callback; a refusal (a conflict, say) is flashed, not raised.

    Text a conflict kept out of the database stays on screen until dismissed (`show_flashes`).
    """
    from roleext.errors import RoleextError
    from roleext.review import UnsavedEditConflict

    try:
        action()
    except UnsavedEditConflict as exc:
        st.session_state.setdefault("_unsaved", []).append(exc.unsaved)
        return False
    except RoleextError as exc:
        flash("error", escape_markdown(str(exc)))
        return False
    return True


def commit_typing_on_shortcuts(shortcuts: list[str]) -> None:
    """Make Alt+letter button shortcuts commit the text box the cursor is in before they fire.

    Streamlit sends a text box's value only when it loses focus (or on Ctrl+Enter), and a
    button's shortcut does not move the focus, so Alt+A pressed while typing accepted the
    record and dropped the text. This script, our own constant text with no user data,
    blurs the box first in the capture phase: the value then travels with the click.
    """
    codes = [f"Key{shortcut.split('+')[-1].upper()}" for shortcut in shortcuts]
    st.html(f"""<script>
(() => {{
  const codes = new Set({json.dumps(codes)});
  if (window.roleextShortcutCodes) {{ codes.forEach((c) => window.roleextShortcutCodes.add(c)); return; }}
  window.roleextShortcutCodes = codes;
  window.addEventListener("keydown", (event) => {{
    const box = document.activeElement;
    if (event.altKey && !event.ctrlKey && !event.metaKey && window.roleextShortcutCodes.has(event.code)
        && box && (box.tagName === "TEXTAREA" || box.tagName === "INPUT")) {{
      box.blur();
    }}
  }}, true);
}})();
</script>""", unsafe_allow_javascript=True)


def show_flashes() -> None:
    """Messages kept for this run, then every unsaved text with its conflict, each with Dismiss."""
    for kind, message in st.session_state.pop("_flash", []):
        getattr(st, kind)(message)
    unsaved = st.session_state.get("_unsaved", [])

    def dismiss(position: int) -> None:
        del unsaved[position]

    for position, edit in enumerate(unsaved):
        with st.container(border=True):
            st.error(edit.message)  # our own words and numbers only; the text goes in the code box
            st.code(edit.text, language="json" if edit.target == "gold" else None, wrap_lines=True)
            st.button("Dismiss", key=f"_unsaved_dismiss_{position}_{id(edit)}", on_click=dismiss,
                      args=(position,))


def customers_in_form(key: str, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customers as the editor's widgets hold them; a widget not drawn yet holds its stored value."""
    from roleext.review import customer_from_form, to_form
    from roleext.schema import FIELDS

    return [customer_from_form({spec.name: st.session_state.get(f"{key}_{i}_{spec.name}",
                                                                 to_form(spec, customer.get(spec.name, spec.empty())))
                                for spec in FIELDS}) for i, customer in enumerate(customers)]


def customers_editor(customers: list[dict[str, Any]], key: str,
                     on_save: Callable[[list[dict[str, Any]]], object]) -> None:
    """Editable customers: closed fields as (multi)selects that keep unknown values, free ones as text.

    Every change calls `on_save(customers)` at once with all customers as the form holds them;
    a refusal is flashed for the next run.
    """
    from roleext.review import options_for, to_form
    from roleext.schema import FIELDS, NAME_FIELD, empty_customer

    def changed() -> None:
        save_or_flash(lambda: on_save(customers_in_form(key, customers)))

    def remove(position: int) -> None:
        current = customers_in_form(key, customers)
        save_or_flash(lambda: on_save(current[:position] + current[position + 1:]))

    def add() -> None:
        save_or_flash(lambda: on_save([*customers_in_form(key, customers), empty_customer()]))

    for i, customer in enumerate(customers):
        name = escape_markdown(str(customer.get(NAME_FIELD) or "")) or "(no name)"
        with st.expander(f"Customer {i + 1}: {name}", expanded=len(customers) == 1):
            columns = st.columns(2)
            for j, spec in enumerate(FIELDS):
                column = columns[j % 2]
                widget_key = f"{key}_{i}_{spec.name}"
                value = customer.get(spec.name, spec.empty())
                if spec.closed and spec.kind == "str":
                    options = options_for(spec, value)
                    column.selectbox(spec.name, options, index=options.index(value), key=widget_key,
                                     on_change=changed)
                elif spec.closed:
                    column.multiselect(spec.name, options_for(spec, value), default=value, key=widget_key,
                                       on_change=changed)
                elif spec.kind == "list":
                    column.text_area(f"{spec.name} (one a line)", to_form(spec, value), key=widget_key,
                                     on_change=changed, height=68)
                else:
                    column.text_input(spec.name, value, key=widget_key, on_change=changed)
            st.button("Remove this customer", key=f"{key}_{i}_remove", on_click=remove, args=(i,))
    st.button("Add a customer", key=f"{key}_add", on_click=add)
