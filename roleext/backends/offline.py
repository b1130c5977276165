"""The built-in backend: no key, no network. Digests chats and extracts by rules.

Not a test double: it is what a user without keys runs, and its digest is what the app
offers to put in front of LLM summaries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import ClassVar, Literal

from roleext.backends.base import Backend, ChatMessage, Completion
from roleext.cleaning import ChatProfile
from roleext.digest import DEFAULT_BUDGET, make_digest
from roleext.errors import BackendError, UsageError
from roleext.extract import extract_customers
from roleext.i18n import _
from roleext.rules import RULE_NAMES, unknown_rules


class OfflineBackend(Backend):
    """Deterministic digest and rules; the same input always gives the same answer."""

    name: ClassVar[str] = "offline"

    def __init__(self, budget: int = DEFAULT_BUDGET, disabled_rules: Iterable[str] = ()) -> None:
        self.budget = budget
        self.profile = ChatProfile()
        self.disabled_rules: frozenset[str] = frozenset()
        self.model = ""
        self.use_rules(disabled_rules)

    def use_rules(self, disabled: Iterable[str]) -> None:
        """Leave out these rules of `roleext.rules` as well; the model name says which are off,
        so a job redoes the records extracted with other rules."""
        self.disabled_rules = self.disabled_rules | frozenset(disabled)
        unknown = unknown_rules(self.disabled_rules)
        if unknown:
            raise UsageError(_("no offline rule is called {names}; the rules are {rules}").format(
                names=", ".join(sorted(unknown)), rules=", ".join(RULE_NAMES)))
        off = f" without {','.join(sorted(self.disabled_rules))}" if self.disabled_rules else ""
        self.model = f"digest-rules-v3@{self.budget}{off}"

    def results_of(self, kind: Literal["summarize", "infer"]) -> str:
        """The digest did not change with the rules: summaries stay done when a rule is switched."""
        return f"digest-rules-v2@{self.budget}" if kind == "summarize" else self.model

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
        answer = json.dumps(extract_customers(chat, self.profile.staff, self.disabled_rules), ensure_ascii=False)
        return Completion(answer, latency=time.perf_counter() - start)
