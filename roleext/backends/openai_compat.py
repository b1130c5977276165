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
from roleext.i18n import _

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

    @property
    def temperature(self) -> float:
        return self.settings.temperature

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
            raise BackendTimeoutError(_("no answer from {url} within {seconds:.0f} s").format(
                url=self.endpoint, seconds=timeout)) from None
        except urllib.error.URLError as exc:
            reason = str(exc.reason)
            if isinstance(exc.reason, TimeoutError):
                raise BackendTimeoutError(_("no answer from {url} within {seconds:.0f} s").format(
                    url=self.endpoint, seconds=timeout)) from None
            raise TransientBackendError(_("cannot reach {url}: {reason}").format(url=self.endpoint,
                                                                                  reason=reason)) from None
        except json.JSONDecodeError:
            raise TransientBackendError(_("{url} answered something that is not JSON").format(
                url=self.endpoint)) from None
        code, message = _provider_code(answer)
        if code:  # Spark's HTTP API reports some errors with HTTP 200
            raise error_for_code(code, message, answer.get("sid"))
        try:
            text = answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise TransientBackendError(_("{url} answered without choices[0].message").format(
                url=self.endpoint)) from None
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
        values = {"url": self.endpoint, "status": exc.code, "message": message, "model": self.model}
        if exc.code in (401, 403):
            return AuthError(_("{url} refused the key (HTTP {status}): {message}").format(**values))
        if exc.code == 429:
            return RateLimitedError(_("{url} is rate limiting (HTTP 429): {message}").format(**values))
        if exc.code in (400, 413) and any(h in message.lower() for h in _TOO_LONG_HINTS):
            return InputTooLongError(_("the input is too long for {model}: {message}").format(**values))
        if exc.code >= 500:
            return TransientBackendError(_("{url} failed (HTTP {status}): {message}").format(**values))
        return BackendError(_("{url} refused the request (HTTP {status}): {message}").format(**values))
