"""iFlytek Spark over its websocket protocol: base models and fine-tuned (patch) services.

Two transports. `direct` (the default) speaks the protocol with websocket-client, because
the SDK cannot be made correct in three ways: it never verifies TLS certificates
(`CERT_NONE` is hard-coded), it discards the `sid` of a failure (which must be logged),
and a timeout fires only after 4 x request_timeout on a thread we cannot stop. `sdk` uses
`spark_ai_python`'s ChatSparkLLM with every other defect worked around: a fresh client per
call (patch_id is popped after the first request; a used instance returns stale answers;
instances are not thread-safe), the URL always passed, temperature kept in (0, 1].
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode, urlparse, urlunparse

import websocket

from roleext import redaction
from roleext.backends.base import Backend, ChatMessage, Completion
from roleext.errors import (
    AuthError,
    BackendError,
    BackendTimeoutError,
    ContentRejectedError,
    InputTooLongError,
    RateLimitedError,
    RoleextError,
    TransientBackendError,
)
from roleext.i18n import _, remedy


@dataclass(frozen=True)
class SparkModel:
    url: str
    domain: str
    context_tokens: int


SPARK_MODELS: dict[str, SparkModel] = {
    "lite": SparkModel("wss://spark-api.xf-yun.com/v1.1/chat", "lite", 8_192),
    "pro": SparkModel("wss://spark-api.xf-yun.com/v3.1/chat", "generalv3", 8_192),
    "pro-128k": SparkModel("wss://spark-api.xf-yun.com/chat/pro-128k", "pro-128k", 131_072),
    "max": SparkModel("wss://spark-api.xf-yun.com/v3.5/chat", "generalv3.5", 8_192),
    "max-32k": SparkModel("wss://spark-api.xf-yun.com/chat/max-32k", "max-32k", 32_768),
    "4.0ultra": SparkModel("wss://spark-api.xf-yun.com/v4.0/chat", "4.0Ultra", 8_192),
}

DEFAULT_CONTEXT_TOKENS = 8_192
CONTENT_REJECTED = {10013, 10014, 10019, 10021}
INPUT_TOO_LONG = {10907}
RATE_LIMITED = {11202, 11203}
BUSY = {10007, 10110}
AUTH_OR_QUOTA = {11200, 11201, 10016}
MIN_TEMPERATURE = 0.01
"""The SDK's constructor crashes on temperature 0, and the API takes (0, 1]."""


def error_for_code(code: int, message: str, sid: str | None = None) -> BackendError:
    """The typed error for a Spark `header.code`, which says whether to retry or stop."""
    if code in CONTENT_REJECTED:
        return ContentRejectedError(_("Spark's moderation rejected the content: {message}").format(message=message),
                                    code=code, sid=sid)
    if code in INPUT_TOO_LONG:
        return InputTooLongError(_("the input is too long for the model: {message}").format(message=message),
                                 code=code, sid=sid)
    if code in RATE_LIMITED:
        return RateLimitedError(_("Spark's rate limit was hit: {message}").format(message=message), code=code, sid=sid)
    if code in BUSY:
        return TransientBackendError(_("Spark is busy: {message}").format(message=message), code=code, sid=sid)
    if code in AUTH_OR_QUOTA:
        return AuthError(_("Spark refused the app's authorization or quota: {message}; check the app id, keys and "
                           "the service's remaining quota").format(message=message), code=code, sid=sid)
    return BackendError(_("Spark answered an error: {message}").format(message=message), code=code, sid=sid)


def check_spark_url(url: str) -> str:
    """The URL if it can be signed and dialled (ws:// or wss://, a host, a path), else a clear error."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("ws", "wss") or not parsed.hostname or not parsed.path.startswith("/"):
        raise RoleextError(_("the Spark URL must look like wss://spark-api.xf-yun.com/v3.1/chat; got {url!r}").format(
            url=url))
    return url.strip()


def sign_url(url: str, api_key: str, api_secret: str, now: datetime | None = None) -> str:
    """The URL with `authorization`, `date` and `host`, signed with HMAC-SHA256 (CONTEXT.md)."""
    parsed = urlparse(url)
    date = format_datetime(now or datetime.now(UTC), usegmt=True)
    origin = f"host: {parsed.netloc}\ndate: {date}\nGET {parsed.path} HTTP/1.1"
    digest = hmac.new(api_secret.encode(), origin.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    authorization = base64.b64encode(
        f'api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line", '
        f'signature="{signature}"'.encode()
    ).decode()
    query = urlencode({"authorization": authorization, "date": date, "host": parsed.netloc})
    return urlunparse(parsed._replace(query=query))


@dataclass
class SparkSettings:
    """A Spark model or fine-tuned service. Keys are never shown in a repr or a message."""

    app_id: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    model: str = "lite"
    url: str | None = None
    domain: str | None = None
    patch_id: str | None = None
    """The fine-tuned model's resource id; sent as `header.patch_id` on every request."""
    temperature: float = 0.5
    max_tokens: int = 2_048
    top_k: int = 4
    timeout: float = 60.0
    transport: Literal["direct", "sdk"] = "direct"

    def resolved(self) -> tuple[str, str]:
        """(url, domain): explicit values win over the model table."""
        known = SPARK_MODELS.get(self.model.lower())
        url = self.url or (known.url if known else None)
        domain = self.domain or (known.domain if known else None)
        if not url or not domain:
            raise RoleextError(_("unknown Spark model {model!r}: give its URL and domain (known: {known})").format(
                model=self.model, known=", ".join(SPARK_MODELS)))
        return check_spark_url(url), domain


def _model_at_path(url: str) -> str | None:
    """The base model whose chat path the URL uses, on any host (a fine-tuned service's URL
    keeps its base's `/v3.1/chat`); None for a path no base model uses."""
    path = urlparse(url.strip()).path.rstrip("/")
    return next((name for name, m in SPARK_MODELS.items() if urlparse(m.url).path == path), None)


def spark_warnings(settings: SparkSettings) -> list[str]:
    """What the form's URL, model and domain say that disagrees, before any request is sent.

    A URL typed without a domain takes the model's domain: `/v3.5/chat` (Max) with model
    lite silently sends domain `lite`. Unknown paths and service ids are not judged.
    """
    known = SPARK_MODELS.get(settings.model.lower())
    url = settings.url or (known.url if known else "")
    domain = settings.domain or (known.domain if known else "")
    served = _model_at_path(url) if url else None
    spoken = next((name for name, m in SPARK_MODELS.items() if m.domain == domain), None)
    warnings = []
    if served and spoken and served != spoken:
        source = _("typed") if settings.domain else _("model {model}'s").format(model=settings.model)
        warnings.append(_(
            "The URL's path {path} is Spark {served}'s (domain {served_domain}), but the domain sent is {domain} "
            "({source}). Choose model {served}, or make the URL and the domain belong to the same model.").format(
                path=urlparse(url).path, served=served, served_domain=SPARK_MODELS[served].domain, domain=domain,
                source=source))
    if settings.patch_id and not settings.domain:
        warnings.append(_(
            "A fine-tuned model (resource id {patch_id}) is called with its service id as the domain (older "
            "services: patch or patchv3); with the domain blank, {domain} is sent.").format(
                patch_id=settings.patch_id, domain=domain or _("nothing")))
    return warnings


class SparkBackend(Backend):
    """Spark chat over websocket; one fresh connection (and SDK client) per call."""

    name: ClassVar[str] = "spark"

    def __init__(self, settings: SparkSettings) -> None:
        if not (settings.app_id and settings.api_key and settings.api_secret):
            raise AuthError(_("Spark needs an app id, an API key and an API secret: {remedy}").format(remedy=remedy(
                app=_("set SPARK_APP_ID, SPARK_API_KEY and SPARK_API_SECRET in the environment or secrets.toml, or "
                      "type them in the sidebar"),
                cli=_("set SPARK_APP_ID, SPARK_API_KEY and SPARK_API_SECRET, or pass --app-id, --api-key and "
                      "--api-secret"))))
        redaction.register(settings.api_key, settings.api_secret)
        self.settings = settings
        self.url, self.domain = settings.resolved()
        self.model = f"{self.domain}:{settings.patch_id}" if settings.patch_id else self.domain
        known = SPARK_MODELS.get(settings.model.lower())
        # A fine-tuned service or an unknown URL: the 8K of the base models it is built on.
        self.context_tokens = known.context_tokens if known and not settings.url else DEFAULT_CONTEXT_TOKENS
        self.answer_tokens = settings.max_tokens
        self.fine_tuned = bool(settings.patch_id)

    @property
    def provider(self) -> str:
        return f"spark {self.url} app {self.settings.app_id}"

    @property
    def temperature(self) -> float:
        return min(1.0, max(MIN_TEMPERATURE, self.settings.temperature))

    def payload(self, messages: list[ChatMessage]) -> dict[str, Any]:
        """The request frame; `patch_id` is in the header of every request for a fine-tuned model."""
        header: dict[str, Any] = {"app_id": self.settings.app_id, "uid": uuid.uuid4().hex[:16]}
        if self.settings.patch_id:
            header["patch_id"] = [self.settings.patch_id]
        return {
            "header": header,
            "parameter": {"chat": {"domain": self.domain, "temperature": self.temperature,
                                   "max_tokens": self.settings.max_tokens,
                                   "top_k": min(6, max(1, self.settings.top_k))}},
            "payload": {"message": {"text": messages}},
        }

    def complete(self, messages: list[ChatMessage], *, timeout: float | None = None) -> Completion:
        deadline = timeout or self.settings.timeout
        if self.settings.transport == "sdk":
            return self._complete_sdk(messages, deadline)
        return self._complete_direct(messages, deadline)

    def _secrets(self) -> tuple[str, str]:
        return self.settings.api_key, self.settings.api_secret

    def _complete_direct(self, messages: list[ChatMessage], timeout: float) -> Completion:
        start = time.monotonic()
        deadline = start + timeout
        signed = sign_url(self.url, *self._secrets())
        sid: str | None = None
        try:
            ws = websocket.create_connection(signed, timeout=timeout)
        except websocket.WebSocketBadStatusException as exc:
            if exc.status_code in (401, 403):
                raise AuthError(_("Spark refused the signature (HTTP {status}); check the API key and secret, and "
                                  "the machine's clock").format(status=exc.status_code)) from None
            raise TransientBackendError(_("Spark's handshake failed (HTTP {status})").format(
                status=exc.status_code)) from None
        except websocket.WebSocketTimeoutException:
            raise BackendTimeoutError(_("no connection to Spark within {seconds:.0f} s").format(
                seconds=timeout)) from None
        except (OSError, websocket.WebSocketException) as exc:
            raise TransientBackendError(_("cannot reach Spark: {reason}").format(reason=exc)) from None
        parts: list[str] = []
        try:
            ws.send(json.dumps(self.payload(messages), ensure_ascii=False))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BackendTimeoutError(_("no complete answer within {seconds:.0f} s").format(seconds=timeout),
                                              sid=sid)
                ws.settimeout(remaining)
                frame = json.loads(ws.recv())
                header = frame.get("header", {})
                sid = header.get("sid") or sid
                code = int(header.get("code", 0))
                if code != 0:
                    # After 10014 the partial answer must never be shown: it is dropped here.
                    raise error_for_code(code, str(header.get("message", "")), sid)
                choices = frame.get("payload", {}).get("choices", {})
                parts.extend(str(t.get("content", "")) for t in choices.get("text", []))
                if header.get("status") == 2 or choices.get("status") == 2:
                    usage = frame.get("payload", {}).get("usage", {}).get("text", {})
                    return Completion("".join(parts), {k: int(v) for k, v in usage.items()
                                                       if isinstance(v, int | float)},
                                      sid, time.monotonic() - start)
        except websocket.WebSocketTimeoutException:
            raise BackendTimeoutError(_("no complete answer within {seconds:.0f} s").format(seconds=timeout),
                                      sid=sid) from None
        except (websocket.WebSocketConnectionClosedException, ConnectionError) as exc:
            raise TransientBackendError(_("Spark closed the connection mid-answer: {reason}").format(reason=exc),
                                        sid=sid) from None
        except json.JSONDecodeError:
            raise TransientBackendError(_("Spark sent a frame that is not JSON"), sid=sid) from None
        finally:
            ws.close()

    def _complete_sdk(self, messages: list[ChatMessage], timeout: float) -> Completion:
        from sparkai.core.messages import ChatMessage as SdkMessage
        from sparkai.errors import SparkAIConnectionError
        from sparkai.llm.llm import ChatSparkLLM

        start = time.monotonic()
        extra = {"patch_id": self.settings.patch_id} if self.settings.patch_id else {}
        client = ChatSparkLLM(  # a fresh client per call: see the module docstring
            spark_api_url=self.url,
            spark_app_id=self.settings.app_id,
            spark_api_key=self.settings.api_key,
            spark_api_secret=self.settings.api_secret,
            spark_llm_domain=self.domain,
            temperature=self.temperature,
            max_tokens=self.settings.max_tokens,
            top_k=min(6, max(1, self.settings.top_k)),
            request_timeout=max(1, math.ceil(timeout / 4)),  # the SDK waits 4 x this
            streaming=False,
            model_kwargs=extra,
        )
        try:
            result = client.generate([[SdkMessage(role=m["role"], content=m["content"]) for m in messages]])
        except SparkAIConnectionError as exc:
            code = int(getattr(exc, "error_code", -1))
            message = str(getattr(exc, "message", exc))
            if code == -1:
                raise TransientBackendError(_("cannot reach Spark: {reason}").format(reason=message)) from None
            raise error_for_code(code, message) from None
        except TimeoutError:
            raise BackendTimeoutError(_("no complete answer within {seconds:.0f} s").format(seconds=timeout)) from None
        generations = result.generations[0] if result.generations else []
        if not generations:
            raise TransientBackendError(_("Spark (SDK) returned an empty answer"))
        usage = (result.llm_output or {}).get("token_usage", {})
        return Completion(generations[0].text, {k: int(v) for k, v in usage.items()
                                                if isinstance(v, int | float)},
                          None, time.monotonic() - start)
