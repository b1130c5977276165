"""The languages roleext speaks, through the standard gettext machinery.

English is the source language: messages are written in English and looked up in the
catalog of the other language, `roleext/locale/zh/LC_MESSAGES/roleext.po`, compiled to the
`.mo` beside it (`make i18n` extracts from app.py, pages/ and roleext/, and compiles;
tests/test_i18n.py checks every message is translated and both files are current).

Core modules write `from roleext.i18n import _` and `_("English text")`, values in named
`{placeholders}` filled by `.format()` after the lookup. The language is the caller's: the
command line sets it from the environment (`environment_language`), the app's pages give it
through `set_language_source`, and `carry` takes it along to a job's threads.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, wraps
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar, get_args

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
SOURCE_LANGUAGE: Language = "en"
LANGUAGE_NAMES: dict[Language, str] = {"zh": "中文", "en": "English"}  # each in its own words
DOMAIN = "roleext"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
"""Where gettext looks for the language, in its order (Python's `gettext.find`)."""

Surface = Literal["app", "cli"]
"""Who speaks to the user: a remedy names a widget in the app, an option on the command line."""

P = ParamSpec("P")
R = TypeVar("R")

_language: ContextVar[Language | None] = ContextVar("roleext_language", default=None)
_surface: ContextVar[Surface] = ContextVar("roleext_surface", default="app")
_language_source: list[Callable[[], Language | None]] = []


@cache
def translator(language: Language) -> gettext.NullTranslations:
    """The translations of `language`: its `gettext`/`ngettext` give English back for English."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as catalog:
        return gettext.GNUTranslations(catalog)


def language_of(locale: str | None) -> Language:
    """The language for a locale tag such as `zh-CN`, `zh_Hans_CN` or `en-US`; English when unknown."""
    if not locale:
        return SOURCE_LANGUAGE
    primary = locale.replace("_", "-").split("-")[0].lower()
    return next((language for language in LANGUAGES if language == primary), SOURCE_LANGUAGE)


def environment_language(environ: Mapping[str, str]) -> Language:
    """The language a terminal asks for, as gettext reads it: the first of LANGUAGE, LC_ALL,
    LC_MESSAGES and LANG that is set; LANGUAGE may list several (`fr:zh`), the first one roleext
    speaks wins. `zh_CN.UTF-8` is Chinese; C, POSIX and anything else is English."""
    value = next((environ[name] for name in LOCALE_VARIABLES if environ.get(name)), "")
    for entry in value.split(":"):
        tag = entry.split(".")[0].split("@")[0]
        if tag in ("C", "POSIX"):
            break
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return language_of(primary)
    return SOURCE_LANGUAGE


def set_language_source(source: Callable[[], Language | None]) -> None:
    """Where the language comes from when no caller set one: the app's session.

    The app's callbacks and fragment reruns run on fresh threads that skip app.py, so the
    app cannot set the language once a run; it gives a function that reads the session.
    `source` returns None outside a session (a job's thread, a test), which means English."""
    _language_source[:] = [source]


def current_language() -> Language:
    """The language messages are written in now: the caller's, else the app session's, else English."""
    language = _language.get()
    if language is None and _language_source:
        language = _language_source[0]()
    return language or SOURCE_LANGUAGE


def current_surface() -> Surface:
    return _surface.get()


@contextmanager
def using(language: Language | None = None, surface: Surface | None = None) -> Iterator[None]:
    """Messages in `language` (and remedies for `surface`) within the block, in this thread or task."""
    language_token = _language.set(language) if language is not None else None
    surface_token = _surface.set(surface) if surface is not None else None
    try:
        yield
    finally:
        if surface_token is not None:
            _surface.reset(surface_token)
        if language_token is not None:
            _language.reset(language_token)


def carry(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, run in the language and for the surface of whoever calls `carry` now.

    A thread starts without the caller's context, so a job's threads are started on a
    carried function: their progress and failure lines are in the starter's language."""
    language, surface = current_language(), current_surface()

    @wraps(function)
    def carried(*args: P.args, **kwargs: P.kwargs) -> R:
        with using(language, surface):
            return function(*args, **kwargs)

    return carried


def _(message: str) -> str:
    """`message` in the current language."""
    return translator(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return translator(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """`message` untranslated, marked for the catalog: a key kept in data, shown with `translate`."""
    return message


def translate(message: str) -> str:
    """A message marked with `N_` where it was written, in the current language now."""
    return translator(current_language()).gettext(message)


def remedy(*, app: str, cli: str) -> str:
    """What the user should do, in the words of the surface they use (a widget, or an option)."""
    return cli if current_surface() == "cli" else app
