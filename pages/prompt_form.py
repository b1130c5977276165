"""The Inference page's prompt: which one a run sends and why, editable, with worked examples."""

from __future__ import annotations

import streamlit as st

from pages.language import _
from pages.session_settings import kept
from roleext.backends.base import Backend
from roleext.jobs import Job
from roleext.project import InputSource
from roleext.prompts import PromptOrigin, extraction_prompt, inference_prompt


def _origin_text(origin: PromptOrigin) -> str:
    texts: dict[PromptOrigin, str] = {
        "rules": _("The offline rules read the chat: no prompt is sent."),
        "trained": _("This run sends each input alone, exactly as in the fine-tuning rows the model learnt from."),
        "builtin": _("This run sends the built-in extraction prompt (the model is not fine-tuned): the 21 fields, "
                     "their types and known values, empty unless the chat states it, JSON only."),
        "instruction": _("This run sends your prompt with each input."),
    }
    return texts[origin]


def _reset(key: str, text: str) -> None:
    st.session_state[key] = text


def prompt_form(backend: Backend, source: InputSource) -> tuple[str | None, int]:
    """The instruction the user gave (None: the default for this model) and the worked examples
    per prompt; shows which prompt the run will send."""
    few_shot = 0
    if backend.name == "offline":
        instruction = None
    elif backend.fine_tuned:
        instruction = st.text_input(_("Instruction sent before the input (a fine-tuned model needs none)"),
                                    key=kept("infer_instruction", "")) or None
    else:
        builtin = extraction_prompt(source)
        key = f"infer_prompt_{source}"
        text = st.text_area(_("Prompt sent with each input ({content}: the input, {examples}: the worked "
                              "examples)"), height=260, key=kept(key, builtin))
        st.button(_("Back to the built-in prompt"), on_click=_reset, args=(key, builtin), disabled=text == builtin,
                  key="infer_prompt_reset")
        instruction = None if text == builtin or not text.strip() else text
        few_shot = int(st.number_input(
            _("Worked examples in each prompt"), 0, 10, key=kept("infer_few_shot", 0),
            help=_("Train records with gold, accepted ones first, then the most like the input; never the record "
                   "itself; only as many as fit beside the input in the model's budget.")))
    st.caption(_origin_text(inference_prompt(backend, instruction, source).origin))
    return instruction, few_shot


def record_prompt_preview(job: Job) -> None:
    """On request, the whole prompt one record of the split would be sent (its examples in place)."""
    if job.prompt is None or job.prompt.origin == "rules":
        return
    if not st.toggle(_("Show the prompt one record gets"), key="infer_show_prompt"):
        return
    indexes = [info.index for info in job.store.list_records(job.spec.split)]
    index = st.selectbox(_("Record"), indexes, key="infer_prompt_record")
    record = job.store.get_record(job.spec.split, index)
    prompt = job.prompt_for(record)
    if prompt is None:
        st.info(_("This record has no current summary to send: summarize it, or let the model read the chat."))
    else:
        st.code(prompt or _("(nothing: the input alone)"), language=None, wrap_lines=True)
