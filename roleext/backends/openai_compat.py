"""Any OpenAI-compatible chat endpoint: Spark's HTTP API, vLLM, Ollama, LM Studio.

Plain `urllib`: one POST per call, no streaming, so no client library is needed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, ClassVar

from roleext import redaction
from roleext.backends.base import Backend, ChatMessage, Completion
from roleext.backends.spark import error_for_code
from roleext.errors import (
    AuthError,
    BackendError,
    BackendTimeoutError,
    InputTooLongError,
    RateLimitedError,
    TransientBackendError,
)

SPARK_HTTP_URL = "https://spark-api-open.xf-yun.com/v1"
_TOO_LONG_HINTS = ("context length", "too long", "maximum context", "context_length", "too many tokens")


@dataclass
class OpenAISettings:
    """An endpoint and model; the key is never shown in a repr or a message."""

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    temperature: float = 0.5
    max_tokens: int = 2_048
    timeout: float = 60.0
    context_tokens: int = 8_192
    fine_tuned: bool = False
    """The model was fine-tuned on roleext's export: it is sent its input alone, as in training."""


def _provider_code(body: Any) -> tuple[int | None, str]:
    """A numeric provider code and message from an error body, when it carries one."""
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error", body)
    if not isinstance(error, dict):
        return None, str(error)
    message = str(error.get("message", ""))
    try:
        return int(str(error.get("code"))), message
    except (TypeError, ValueError):
        return None, message


class OpenAICompatBackend(Backend):
    """POST {base_url}/chat/completions with a bearer key."""

    name: ClassVar[str] = "openai"

    def __init__(self, settings: OpenAISettings) -> None:
        redaction.register(settings.api_key)
        self.settings = settings
        self.model = settings.model
        self.context_tokens = settings.context_tokens
        self.answer_tokens = settings.max_tokens
        self.fine_tuned = settings.fine_tuned
        self.endpoint = settings.base_url.rstrip("/") + "/chat/completions"

    @property
    def provider(self) -> str:
        return self.endpoint

    def complete(self, messages: list[ChatMessage], *, timeout: float | None = None) -> Completion:
        timeout = timeout or self.settings.timeout
        body = json.dumps({"model": self.model, "messages": messages, "stream": False,
                           "temperature": self.settings.temperature,
                           "max_tokens": self.settings.max_tokens}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        start = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.loads(response.read())
                request_id = response.headers.get("x-request-id")
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError:
            raise BackendTimeoutError(f"no answer from {self.endpoint} within {timeout:.0f} s") from None
        except urllib.error.URLError as exc:
            reason = str(exc.reason)
            if isinstance(exc.reason, TimeoutError):
                raise BackendTimeoutError(f"no answer from {self.endpoint} within {timeout:.0f} s") from None
            raise TransientBackendError(f"cannot reach {self.endpoint}: {reason}") from None
        except json.JSONDecodeError:
            raise TransientBackendError(f"{self.endpoint} answered something that is not JSON") from None
        code, message = _provider_code(answer)
        if code:  # Spark's HTTP API reports some errors with HTTP 200
            raise error_for_code(code, message, answer.get("sid"))
        try:
            text = answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise TransientBackendError(f"{self.endpoint} answered without choices[0].message") from None
        usage = {k: int(v) for k, v in (answer.get("usage") or {}).items() if isinstance(v, int | float)}
        return Completion(text, usage, request_id or answer.get("id"), time.monotonic() - start)

    def _http_error(self, exc: urllib.error.HTTPError) -> BackendError:
        try:
            body = json.loads(exc.read() or b"{}")
        except json.JSONDecodeError:
            body = {}
        code, message = _provider_code(body)
        message = message or exc.reason
        if code and code >= 10000:
            return error_for_code(code, message)
        if exc.code in (401, 403):
            return AuthError(f"{self.endpoint} refused the key (HTTP {exc.code}): {message}")
        if exc.code == 429:
            return RateLimitedError(f"{self.endpoint} is rate limiting (HTTP 429): {message}")
        if exc.code in (400, 413) and any(h in message.lower() for h in _TOO_LONG_HINTS):
            return InputTooLongError(f"the input is too long for {self.model}: {message}")
        if exc.code >= 500:
            return TransientBackendError(f"{self.endpoint} failed (HTTP {exc.code}): {message}")
        return BackendError(f"{self.endpoint} refused the request (HTTP {exc.code}): {message}")
