"""The server's pages tell the browser where the server is; nothing else it sends changes."""

from __future__ import annotations

import asyncio
from typing import Any

from roleext.serving import BaseUrlHint, base_url_hint, page_path

PAGE = b"<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"


def served(path: str, headers: dict[bytes, bytes], answer: tuple[int, dict[bytes, bytes], bytes],
           base_url_path: str = "") -> tuple[dict[bytes, bytes], bytes, dict[bytes, bytes]]:
    """The answer's headers and body as sent through the middleware, and the request's headers
    as Streamlit's server received them."""
    status, answer_headers, body = answer
    received: dict[bytes, bytes] = {}
    sent: list[dict[str, Any]] = []

    async def streamlit(scope: Any, receive: Any, send: Any) -> None:
        received.update(scope["headers"])
        await send({"type": "http.response.start", "status": status, "headers": list(answer_headers.items())})
        half = len(body) // 2  # in two parts, as a file is streamed
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:]})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "path": path, "headers": list(headers.items())}
    asyncio.run(BaseUrlHint(streamlit, lambda: base_url_path)(scope, receive, send))
    start, *parts = sent
    return dict(start["headers"]), b"".join(part.get("body", b"") for part in parts), received


BROWSER = {b"accept": b"text/html,application/xhtml+xml,*/*;q=0.8", b"accept-encoding": b"gzip, br",
           b"if-none-match": b'"abc"'}
HTML = {b"content-type": b"text/html; charset=utf-8", b"content-length": str(len(PAGE)).encode(),
        b"etag": b'"abc"'}


def test_a_page_carries_the_hint_first_in_its_head_with_its_new_length() -> None:
    headers, body, received = served("/review", BROWSER, (200, HTML, PAGE))
    assert body == PAGE.replace(b"<head>", b"<head>" + base_url_hint("/review"))
    assert headers[b"content-length"] == str(len(body)).encode()
    assert b"etag" not in headers  # the file's tag would let a browser keep an unamended copy
    # Asked whole and uncompressed, so it could be read.
    assert b"accept-encoding" not in received and b"if-none-match" not in received


def test_everything_but_a_plain_html_page_passes_unchanged() -> None:
    script = (200, {b"content-type": b"application/javascript", b"content-length": b"9"}, b"let x = 1")
    headers, body, received = served("/static/js/index.js", {b"accept": b"*/*", b"accept-encoding": b"gzip"}, script)
    assert (headers, body) == (script[1], script[2]) and received[b"accept-encoding"] == b"gzip"
    compressed = (200, {**HTML, b"content-encoding": b"gzip"}, b"\x1f\x8b...")
    assert served("/review", BROWSER, compressed)[:2] == (compressed[1], compressed[2])
    not_modified = (304, HTML, b"")
    assert served("/review", BROWSER, not_modified)[:2] == (HTML, b"")
    health = (200, {b"content-type": b"text/html"}, b"ok")
    assert served("/_stcore/health", BROWSER, health)[:2] == (health[1], health[2])


def test_the_page_path_leaves_out_the_base_url_path() -> None:
    assert page_path("/review", "") == "/review"
    assert page_path("/team/roleext/review", "team/roleext/") == "/review"
    assert page_path("/team/roleext", "/team/roleext") == "/"
    assert page_path("/team/roleexts/review", "team/roleext") == "/team/roleexts/review"
    _, body, _ = served("/team/roleext/review", BROWSER, (200, HTML, PAGE), base_url_path="team/roleext")
    assert base_url_hint("/review") in body and b'"/review"' in base_url_hint("/review")
    assert b'const served = ""' in base_url_hint("/")
