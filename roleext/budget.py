"""How many characters a model can be sent: its context, less the answer, in characters.

Spark Lite/Pro/Max take 8K tokens and answer 10907 beyond; about 1.5 Chinese characters
make a token (CONTEXT.md). The budget is overridable (`--max-input-chars`, the app's form).
"""

from __future__ import annotations

from roleext.backends.base import Backend
from roleext.chunking import MIN_CHUNK_CHARS

CHARS_PER_TOKEN = 1.5


def max_input_chars(backend: Backend, override: int | None = None) -> int | None:
    """Characters one request may hold (prompt and content), or None for no limit (offline).

    A backend without a context limit (offline) ignores the override: chunking a chat it reads
    whole only gave each chunk its own full digest, and their join outgrew the digest's budget."""
    if backend.context_tokens is None:
        return None
    if override:
        return override
    return int((backend.context_tokens - backend.answer_tokens) * CHARS_PER_TOKEN)


def content_budget(max_input: int, prompt: str) -> int:
    """Characters left for the chat once the prompt template (less its slot) is counted."""
    return max(MIN_CHUNK_CHARS, max_input - len(prompt.replace("{content}", "")))
