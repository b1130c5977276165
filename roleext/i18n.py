"""The languages roleext speaks, through the standard gettext machinery.

English is the source language: messages are written in English and looked up in the
catalog of the other language, `roleext/locale/zh/LC_MESSAGES/roleext.po`, compiled to the
`.mo` beside it (`make i18n` extracts and compiles; tests/test_i18n.py checks both are current).
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import Literal, get_args

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
SOURCE_LANGUAGE: Language = "en"
LANGUAGE_NAMES: dict[Language, str] = {"zh": "中文", "en": "English"}  # each in its own words
DOMAIN = "roleext"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


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
