"""The built-in backend: no key, no network. Digests chats and extracts by rules.

Not a test double: it is what a user without keys runs, and its digest is what the app
offers to put in front of LLM summaries.
"""

from __future__ import annotations

import json
import time
from typing import ClassVar

from roleext.backends.base import Backend, ChatMessage, Completion
from roleext.cleaning import ChatProfile
from roleext.digest import DEFAULT_BUDGET, make_digest
from roleext.errors import BackendError
from roleext.extract import extract_customers
from roleext.i18n import _


class OfflineBackend(Backend):
    """Deterministic digest and rules; the same input always gives the same answer."""

    name: ClassVar[str] = "offline"

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.model = f"digest-rules-v2@{budget}"
        self.profile = ChatProfile()

    def prepare(self, profile: ChatProfile) -> None:
        """Keep the project's staff (for the rules) and boilerplate (for the digest)."""
        self.profile = profile

    def complete(self, messages: list[ChatMessage], *, timeout: float | None = None) -> Completion:
        raise BackendError(_("the offline backend only summarizes and extracts; choose an LLM backend for free-form "
                             "prompts"))

    def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
        start = time.perf_counter()
        digest = make_digest(chat, self.budget, self.profile)
        return Completion(digest.text, latency=time.perf_counter() - start)

    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        start = time.perf_counter()
        answer = json.dumps(extract_customers(chat, self.profile.staff), ensure_ascii=False)
        return Completion(answer, latency=time.perf_counter() - start)
