"""The server's pages tell the browser where the server is; nothing else it sends changes."""

from __future__ import annotations

import asyncio
from typing import Any

from roleext.serving import BaseUrlHint, base_url_hint, page_path

PAGE = b"<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"


def served(path: str, headers: dict[bytes, bytes], answer: tuple[int, dict[bytes, bytes], bytes],
           base_url_path: str = "", method: str = "GET",
           root_path: str = "") -> tuple[dict[bytes, bytes], bytes, dict[bytes, bytes]]:
    """The answer's headers and body as sent through the middleware, and the request's headers
    as Streamlit's server received them."""
    status, answer_headers, body = answer
    received: dict[bytes, bytes] = {}
    sent: list[dict[str, Any]] = []

    async def streamlit(scope: Any, receive: Any, send: Any) -> None:
        received.update(scope["headers"])
        received[b"(can send a file by its path)"] = str("http.response.pathsend" in scope["extensions"]).encode()
        await send({"type": "http.response.start", "status": status, "headers": list(answer_headers.items())})
        half = len(body) // 2  # in two parts, as a file is streamed
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:]})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    scope = {"type": "http", "method": method, "path": path, "root_path": root_path,
             "headers": list(headers.items()), "extensions": {"http.response.pathsend": {}}}
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
    # Asked whole and uncompressed, as bytes rather than a file's path, so it could be read.
    assert b"accept-encoding" not in received and b"if-none-match" not in received
    assert received[b"(can send a file by its path)"] == b"False"


def test_everything_but_a_plain_html_page_passes_unchanged() -> None:
    script = (200, {b"content-type": b"application/javascript", b"content-length": b"9"}, b"let x = 1")
    headers, body, received = served("/static/js/index.js", {b"accept": b"*/*", b"accept-encoding": b"gzip"}, script)
    assert (headers, body) == (script[1], script[2]) and received[b"accept-encoding"] == b"gzip"
    # A download is a navigation that accepts HTML too: it keeps its compression and validators.
    download = (200, {b"content-type": b"text/html", b"content-length": b"4"}, b"<p/>")
    headers, body, received = served("/media/abc.html", BROWSER, download)
    assert (headers, body) == (download[1], download[2]) and received[b"accept-encoding"] == b"gzip, br"
    assert served("/favicon.png", BROWSER, download)[:2] == (download[1], download[2])
    assert served("/review", BROWSER, (200, HTML, PAGE), method="HEAD")[:2] == (HTML, PAGE)
    json_page = (200, {b"content-type": b"application/json"}, b"{}")
    assert served("/review", BROWSER, json_page)[:2] == (json_page[1], json_page[2])
    compressed = (200, {**HTML, b"content-encoding": b"gzip"}, b"\x1f\x8b...")
    assert served("/review", BROWSER, compressed)[:2] == (compressed[1], compressed[2])
    not_modified = (304, HTML, b"")
    assert served("/review", BROWSER, not_modified)[:2] == (HTML, b"")
    health = (200, {b"content-type": b"text/html"}, b"ok")
    assert served("/_stcore/health", BROWSER, health)[:2] == (health[1], health[2])


def test_the_page_path_leaves_out_the_base_url_path_and_the_root_path() -> None:
    assert page_path("/review", "") == "/review"
    assert page_path("/team/roleext/review", "team/roleext/") == "/review"
    assert page_path("/team/roleext", "/team/roleext") == "/"
    assert page_path("/team/roleexts/review", "team/roleext") == "/team/roleexts/review"
    assert page_path("/mounted/team/review", "team", root_path="/mounted") == "/review"
    _, body, _ = served("/team/roleext/review", BROWSER, (200, HTML, PAGE), base_url_path="team/roleext")
    assert base_url_hint("/review") in body and b'"/review"' in base_url_hint("/review")
    # uvicorn --root-path /x (a proxy that strips /x): the path it hands the app starts with /x.
    assert base_url_hint("/review") in served("/x/review", BROWSER, (200, HTML, PAGE), root_path="/x")[1]
    assert b'const served = ""' in base_url_hint("/")


def test_a_path_cannot_end_the_hint_script() -> None:
    """The path is the requester's: a link to /</script><script>... must not run on the app's origin."""
    path = "/</script><script>alert(1)</script><!--&"
    hint = base_url_hint(path)
    assert hint.count(b"<") == 2 and hint.startswith(b"<script>") and hint.endswith(b"</script>")
    assert b"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in hint and b"&" not in hint
