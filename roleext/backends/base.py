"""What every LLM backend offers: one call in, one `Completion` out, errors typed by cause."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from roleext.cleaning import ChatProfile, learn_profile
from roleext.errors import RoleextError
from roleext.i18n import _

ChatMessage = dict[str, str]
"""{"role": "user" | "assistant" | "system", "content": "..."}"""

CONTENT_SLOT = "{content}"


@dataclass(frozen=True)
class Completion:
    """A model's answer with what it cost and how to trace it."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    request_id: str | None = None
    latency: float = 0.0

    @property
    def tokens(self) -> int:
        return int(self.usage.get("total_tokens", 0))


def fill_template(template: str, content: str) -> str:
    """The prompt with the chat in its `{content}` slot; other braces are left alone."""
    if CONTENT_SLOT not in template:
        raise RoleextError(_("the prompt template has no {slot} slot for the chat; add one").format(slot=CONTENT_SLOT))
    return template.replace(CONTENT_SLOT, content)


class Backend(ABC):
    """An LLM (or the offline rules) that summarizes chats and extracts customers."""

    name: ClassVar[str]
    model: str
    context_tokens: int | None = None
    """The model's context in tokens (prompt and answer); None where nothing limits it."""
    answer_tokens: int = 0
    """Tokens kept for the answer (the request's max_tokens)."""
    fine_tuned: bool = False
    """Trained on roleext's export: it is sent what it was trained on, not the built-in prompt."""
    remembers: ClassVar[bool] = True
    """Its answers go to the LLM cache, as each costs a call (and money) to get again."""
    parallel_calls: ClassVar[int | None] = None
    """The most calls worth making at once, whatever a job's concurrency asks (None: no limit)."""

    @property
    def temperature(self) -> float | None:
        """The sampling temperature it asks for (a run records it); None where it has none."""
        return None

    @property
    def provider(self) -> str:
        """Who serves the calls: the jobs of one process share one rate limit per provider."""
        return self.name

    @abstractmethod
    def complete(self, messages: list[ChatMessage], *, timeout: float | None = None) -> Completion:
        """One chat completion; raises a `BackendError` subclass on failure."""

    def prepare(self, profile: ChatProfile) -> None:
        """Take what the whole project's chats teach (staff, boilerplate) before a batch."""
        return None

    def expect(self, records: int) -> None:
        """How many records the coming batch holds (the offline backend starts its processes
        only for a batch worth their start)."""
        return None

    def foresee(self, kind: Literal["summarize", "infer"], chats: list[str]) -> None:
        """The chats the next calls are about (a job says so a batch at a time): a backend that
        computes locally may start on them all at once. Remote ones have nothing to gain."""
        return None

    def learn_profile(self, chats: Iterable[str]) -> ChatProfile:
        """The project's staff and boilerplate (`cleaning.learn_profile`), learnt before a batch."""
        return learn_profile(chats)

    def close(self) -> None:
        """Free what a batch held (the offline backend's processes); the next call takes them again."""
        return None

    def results_of(self, kind: Literal["summarize", "infer"]) -> str:
        """What names this backend's answers of one kind in a job's config: when it changes,
        the records done before are redone. For a remote model, its name."""
        return self.model

    def use_rules(self, disabled: Iterable[str]) -> None:
        """Leave out these offline rules (a project's switches); backends without rules ignore it."""
        return None

    def summarize(self, chat: str, template: str, *, timeout: float | None = None) -> Completion:
        """A digest of one chat, asked for with the summary prompt template."""
        return self.complete([{"role": "user", "content": fill_template(template, chat)}], timeout=timeout)

    def extract(self, model_input: str, chat: str, instruction: str | None = None, *,
                timeout: float | None = None) -> Completion:
        """The raw answer (JSON expected) for one record's model input.

        A fine-tuned model learnt the instruction in training, so it is sent only if given.
        An instruction with a `{content}` slot gets the input there, else the input follows it.
        """
        if instruction and CONTENT_SLOT in instruction:
            content = fill_template(instruction, model_input)
        else:
            content = f"{instruction}\n{model_input}" if instruction else model_input
        return self.complete([{"role": "user", "content": content}], timeout=timeout)
