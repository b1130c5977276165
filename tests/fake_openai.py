"""A fake OpenAI-compatible chat server on 127.0.0.1: bearer check, answers, errors, delays.

With `echo_credentials`, every error message quotes the Authorization header it was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-fake-abcdef123456"


@dataclass
class FakeOpenAI:
    """`reply` may return (status, body) to answer an error; `requests` records each body."""

    answer: Callable[[dict[str, Any]], str] = lambda request: '[{"基本信息-姓名": "李娜3"}]'
    reply: Callable[[dict[str, Any]], tuple[int, dict[str, Any]] | None] = lambda request: None
    delay: float = 0.0
    echo_credentials: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                if fake.echo_credentials and status >= 400 and isinstance(body.get("error"), dict):
                    sent = self.headers.get("Authorization")
                    body = {**body, "error": {**body["error"],
                                              "message": f"{body['error'].get('message')} (you sent {sent})"}}
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-request-id", "req-fake-1")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._send(401, {"error": {"message": "Incorrect API key provided"}})
                    return
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(request)
                if fake.delay:
                    time.sleep(fake.delay)
                override = fake.reply(request)
                if override is not None:
                    self._send(*override)
                    return
                text = fake.answer(request)
                self._send(200, {"id": "chatcmpl-fake", "object": "chat.completion",
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": len(text),
                                           "total_tokens": 10 + len(text)}})

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is what the timeout test does

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
