"""A fake iFlytek Spark websocket server on 127.0.0.1 that speaks the protocol of CONTEXT.md.

It checks the URL signature itself (it does not reuse roleext's signing code, so a
signing bug fails the handshake), streams answers in frames with usage on the last one,
and can be told to answer any error code (quoting the caller's credentials, as careless
providers do), to be slow, to enforce a per-second limit, or
to refuse prompts over a length. Used by the tests and by benchmarks/batch.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

APP_ID, API_KEY, API_SECRET = "app-fake", "key-fake-0123456789", "secret-fake-9876543210"
MAX_SKEW_SECONDS = 300


def prompt_of(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["payload"]["message"]["text"])


@dataclass
class FakeSpark:
    """Behaviour knobs; change them between calls. `requests` records every accepted frame."""

    answer: Callable[[dict[str, Any]], str] = lambda request: '[{"基本信息-姓名": "李娜3"}]'
    error_for: Callable[[dict[str, Any]], int | None] = lambda request: None
    delay: float = 0.0
    max_per_second: int | None = None
    too_long_over: int | None = None
    partial_before_error: bool = False
    echo_credentials: bool = False
    """Error messages quote the signed URL, the decoded authorization, the key and the secret."""
    echoed: list[str] = field(default_factory=list)
    """The authorization values quoted back, for tests to look for."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    rejected_handshakes: int = 0
    rate_limited: int = 0
    too_long: int = 0
    _recent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _server: Any = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v3.1/chat"

    # --- handshake: the signature check -------------------------------------------------

    def _check_signature(self, connection: ServerConnection, request: Request) -> Response | None:
        parsed = urlparse(request.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        try:
            date = query["date"]
            host = query["host"]
            skew = abs(time.time() - parsedate_to_datetime(date).timestamp())
            auth = base64.b64decode(query["authorization"]).decode()
            fields = dict(part.strip().split("=", 1) for part in auth.split(", "))
            fields = {k: v.strip('"') for k, v in fields.items()}
            origin = f"host: {host}\ndate: {date}\nGET {parsed.path} HTTP/1.1"
            expected = base64.b64encode(
                hmac.new(API_SECRET.encode(), origin.encode(), hashlib.sha256).digest()).decode()
            ok = (fields["api_key"] == API_KEY and fields["algorithm"] == "hmac-sha256"
                  and fields["headers"] == "host date request-line"
                  and hmac.compare_digest(fields["signature"], expected)
                  and skew <= MAX_SKEW_SECONDS and host == request.headers.get("Host"))
        except (KeyError, ValueError, TypeError):
            ok = False
        if ok:
            return None
        with self._lock:
            self.rejected_handshakes += 1
        body = b'{"message":"HMAC signature does not match"}'
        return Response(401, "Unauthorized", Headers({"Content-Length": str(len(body))}), body)

    # --- one chat request ---------------------------------------------------------------

    def _frame(self, code: int, sid: str, status: int, content: str = "", message: str = "Success",
               usage: dict[str, int] | None = None) -> str:
        payload: dict[str, Any] = {"choices": {"status": status, "seq": 0,
                                               "text": [{"content": content, "role": "assistant", "index": 0}]}}
        if usage:
            payload["usage"] = {"text": usage}
        return json.dumps({"header": {"code": code, "message": message, "sid": sid, "status": status},
                           "payload": payload}, ensure_ascii=False)

    def _admit(self) -> bool:
        """False when the per-second limit is reached (a sliding one-second window)."""
        if self.max_per_second is None:
            return True
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.max_per_second:
                self.rate_limited += 1
                return False
            self._recent.append(now)
            return True

    def _handle(self, connection: ServerConnection) -> None:
        request = json.loads(connection.recv())
        sid = f"cht000{int(time.time() * 1000) % 10**8:08d}"
        if not self._admit():
            connection.send(self._frame(11202, sid, 2, message="AppIdQpsOverFlowError"))
            return
        prompt = prompt_of(request)
        if self.too_long_over is not None and len(prompt) > self.too_long_over:
            with self._lock:
                self.too_long += 1
                self.requests.append(request)
            connection.send(self._frame(10907, sid, 2, message="token limit exceeded"))
            return
        with self._lock:
            self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        code = self.error_for(request)
        if code:
            if self.partial_before_error:
                connection.send(self._frame(0, sid, 1, content="部分回答"))
            message = f"error {code}"
            if self.echo_credentials:
                message += f" for {self._credentials_seen(connection)}"
            connection.send(self._frame(code, sid, 2, message=message))
            return
        answer = self.answer(request)
        third = max(1, len(answer) // 3)
        chunks = [answer[:third], answer[third:2 * third], answer[2 * third:]]
        for status, chunk in zip((0, 1, 2), chunks, strict=True):
            usage = ({"prompt_tokens": len(prompt), "completion_tokens": len(answer),
                      "total_tokens": len(prompt) + len(answer)} if status == 2 else None)
            connection.send(self._frame(0, sid, status, chunk, usage=usage))

    def _credentials_seen(self, connection: ServerConnection) -> str:
        path = connection.request.path if connection.request else ""
        query = {k: v[0] for k, v in parse_qs(urlparse(path).query).items()}
        authorization = query.get("authorization", "")
        decoded = base64.b64decode(authorization).decode() if authorization else ""
        with self._lock:
            self.echoed.append(authorization)
        return f"GET {path} (authorization {authorization}: {decoded}; api_key={API_KEY}, secret={API_SECRET})"

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeSpark:
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._check_signature,
                             compression=None, ping_interval=None)
        self.port = self._server.socket.getsockname()[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
