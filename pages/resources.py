"""What the server process gives every page: the project store, the job registry, the secrets.

Every page imports this module first, so it is also where legacy pages mode is left."""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages.language import _
from pages.legacy_pages import leave_legacy_pages_mode
from roleext.errors import RoleextError
from roleext.jobs import JobRegistry
from roleext.markup import escape_markdown
from roleext.search import BackgroundIndexer
from roleext.store import ProjectStore, database_url

leave_legacy_pages_mode()


@st.cache_resource
def _store(url: str) -> ProjectStore:
    return ProjectStore(url)


@st.cache_resource
def _indexer(url: str) -> BackgroundIndexer:
    store = _store(url)
    indexer = BackgroundIndexer(store.waiting_for_index, store.index_for_search)
    indexer.poke()  # what a command-line import or a crash left unindexed
    return indexer


@st.cache_resource
def _registry(url: str) -> JobRegistry:
    return JobRegistry()


def project_store() -> ProjectStore:
    """The project database of this server process (ROLEEXT_DB, else ./roleext.db).

    A database that cannot be opened (a folder, a file that is not SQLite, a missing driver)
    stops the page with the reason, never a traceback."""
    try:
        store = _store(database_url())
        search_indexer()
        return store
    except RoleextError as exc:
        st.error(_("The project database cannot be opened: {reason}. Set ROLEEXT_DB to another path and "
                   "restart the app.").format(reason=escape_markdown(str(exc))))
        st.stop()


def search_indexer() -> BackgroundIndexer:
    """Adds imported records to the search index in the background: poke it after an import."""
    return _indexer(database_url())


def job_registry() -> JobRegistry:
    """The jobs this server process runs, one registry per project database."""
    return _registry(database_url())


def app_secrets() -> dict[str, Any]:
    """Streamlit's secrets.toml as a dict; empty when there is none."""
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises on access
        return {}
