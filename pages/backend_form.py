"""The sidebar form of the job pages: which backend and model to call, and how much to send it."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from pages.language import _
from pages.resources import app_secrets
from pages.session_settings import kept, kept_choice
from roleext.backends import SPARK_MODELS
from roleext.backends.choice import KEY_NAMES, BackendChoice, BackendKind, find_credentials, is_secret
from roleext.markup import escape_markdown

BACKEND_KINDS: tuple[BackendKind, ...] = ("offline", "spark", "openai")


def backend_label(kind: BackendKind) -> str:
    """The backend's name in the session's language (looked up at each run: the language can change)."""
    labels: dict[BackendKind, str] = {"offline": _("Offline (built in, no key)"), "spark": _("iFlytek Spark"),
                                      "openai": _("OpenAI-compatible server")}
    return labels[kind]


def backend_form(prefix: str, default_model: str = "lite", ask_fine_tuned: bool = False) -> BackendChoice:
    """Backend, model and keys. Typed keys stay in this session; found keys are named, not shown.

    With `ask_fine_tuned`, an OpenAI-compatible model can be marked fine-tuned on roleext's export."""
    kind = st.selectbox(_("Backend"), BACKEND_KINDS, key=kept_choice(f"{prefix}_kind", "offline"),
                        format_func=backend_label)
    choice = BackendChoice(kind=kind)
    if kind == "offline":
        return choice
    found = find_credentials(KEY_NAMES[kind], os.environ, app_secrets())
    if found:
        st.caption(_("Keys found: {keys}").format(
            keys=", ".join(f"{name} ({where})" for name, (_value, where) in found.items())))
    if kind == "spark":
        models = list(SPARK_MODELS)
        choice.model = st.selectbox(_("Model"), models, key=kept_choice(f"{prefix}_model", default_model
                                                              if default_model in models else models[0]))
        choice.spark_url = st.text_input(_("URL (blank: from the model)"), key=kept(f"{prefix}_url", ""))
        choice.domain = st.text_input(_("Domain or service id (blank: from the model)"),
                                      key=kept(f"{prefix}_domain", ""))
        choice.patch_id = st.text_input(_("Resource id (patch_id) of a fine-tuned model"),
                                        key=kept(f"{prefix}_patch", ""))
        for name, attr in zip(KEY_NAMES["spark"], ("app_id", "api_key", "api_secret"), strict=True):
            typed = st.text_input(name, type="password" if is_secret(name) else "default",
                                  key=kept(f"{prefix}_{attr}", ""),
                                  placeholder=_("found") if name in found else "")
            setattr(choice, attr, typed)
    else:
        choice.base_url = st.text_input(_("Base URL"), key=kept(f"{prefix}_base", "http://127.0.0.1:8000/v1"))
        choice.model = st.text_input(_("Model"), key=kept(f"{prefix}_omodel", ""))
        choice.api_key = st.text_input("OPENAI_API_KEY", type="password", key=kept(f"{prefix}_key", ""),
                                       placeholder=_("found") if found else "")
        if ask_fine_tuned:
            choice.fine_tuned = st.checkbox(_("Fine-tuned on roleext's export"),
                                            key=kept(f"{prefix}_fine_tuned", False),
                                            help=_("It is then sent its input as in training, not the built-in "
                                                   "prompt. A Spark model is fine-tuned when it has a resource id."))
    choice = choice.with_credentials(os.environ, app_secrets())
    for problem in choice.warnings():
        st.warning(escape_markdown(problem))
    return choice


def fit_options(prefix: str, choice: BackendChoice) -> dict[str, Any]:
    """The context budget override and chunk overlap, for the job pages' sidebars; disabled for
    the offline backend, which reads a chat whole (roleext.budget.max_input_chars)."""
    whole = choice.kind == "offline"
    why = _("The offline backend reads each chat whole: nothing is chunked.") if whole else None
    chars = st.number_input(_("Characters per request (0: from the model's context)"), 0, 500_000, step=1000,
                            key=kept(f"{prefix}_max_input", 0), disabled=whole, help=why)
    overlap = st.number_input(_("Messages repeated between chunks of a long chat"), 0, 20,
                              key=kept(f"{prefix}_overlap", 2), disabled=whole, help=why)
    return {"max_input_chars": int(chars) or None, "overlap": int(overlap)}
