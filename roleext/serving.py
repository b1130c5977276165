"""What roleext's web server adds to Streamlit's: every page says where the server is.

Streamlit's frontend cannot tell whether a page's address (`/review`) is a page of an app
served at `/` or the base of an app served at `/review`. It asks `/review/_stcore/health`,
gets a 404, waits 100 ms and asks `/_stcore/health`: about 150 ms of every full page load (a
bookmarked record, a reload, a link from a teammate) spent before its websocket opens.
The frontend skips that search when its host sets `window.__streamlit.BACKEND_BASE_URL`.
`BaseUrlHint` sets it in each page the server sends, as the browser's path without the path
the server received: right whether the app is served at `/`, under `server.baseUrlPath`, or
under a prefix a reverse proxy strips. Where the two paths do not end alike the page is
left to Streamlit's own search.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HINT = """<script>(() => {
  const served = SERVED, here = window.location.pathname.replace(/\\/+$/, "");
  if (!here.endsWith(served)) return;
  const base = window.location.origin + here.slice(0, here.length - served.length) + "/";
  window.__streamlit = Object.assign({}, window.__streamlit, { BACKEND_BASE_URL: base });
})();</script>"""


def base_url_hint(page_path: str) -> bytes:
    """The script that gives Streamlit's frontend its server's base URL, for a page the app
    itself calls `page_path` (`/review`, or `/` for the default page)."""
    served = page_path.rstrip("/")
    return _HINT.replace("SERVED", json.dumps(served)).encode()


def page_path(path: str, base_url_path: str) -> str:
    """The path of a request as the app names its pages: without `server.baseUrlPath`."""
    base = "/" + base_url_path.strip("/")
    if base != "/" and (path == base or path.startswith(base + "/")):
        return path[len(base):] or "/"
    return path


class BaseUrlHint:
    """ASGI middleware: puts `base_url_hint` at the top of the `<head>` of each page served.

    Only a browser's request for a page is touched (GET, accepting HTML, outside Streamlit's
    `_stcore` endpoints); it is answered whole and uncompressed (a few kilobytes). Every
    other request, and any answer that is not an uncompressed HTML page, passes unchanged."""

    def __init__(self, app: ASGIApp, base_url_path: Callable[[], str] = lambda: "") -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _asks_for_page(scope):
            await self.app(scope, receive, send)
            return
        hint = base_url_hint(page_path(scope["path"], self.base_url_path()))
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in _PAGE_REQUEST_HEADERS]}
        start: Message | None = None
        body: list[bytes] = []

        async def amend(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _is_plain_html(message):
                start = message  # sent with the amended length once the body is complete
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body).replace(b"<head>", b"<head>" + hint, 1)
            # The file's validators do not describe the amended page: it is sent whole each time.
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in _FILE_HEADERS]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, amend)


_FILE_HEADERS = {b"content-length", b"etag", b"last-modified"}
_PAGE_REQUEST_HEADERS = {b"accept-encoding", b"if-none-match", b"if-modified-since"}
"""Left out of a browser's request for a page, so Streamlit sends the file whole and uncompressed."""


def _asks_for_page(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or "/_stcore/" in scope["path"]:
        return False
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"text/html" in accept


def _is_plain_html(start: Message) -> bool:
    headers = {k.lower(): v for k, v in start.get("headers", [])}
    html = headers.get(b"content-type", b"").startswith(b"text/html")
    return start.get("status") == 200 and html and b"content-encoding" not in headers
