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
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HINT = """<script>(() => {
  const served = SERVED;
  let here;
  try { here = decodeURI(window.location.pathname).replace(/\\/+$/, ""); } catch { return; }
  if (!here.endsWith(served)) return;
  const base = window.location.origin + here.slice(0, here.length - served.length) + "/";
  window.__streamlit = Object.assign({}, window.__streamlit, { BACKEND_BASE_URL: base });
})();</script>"""
_PAGE = re.compile(r"/[^/.]*")
"""How the app's pages are addressed: `/` and `/review` (Streamlit's page paths are one segment).
Files (`/favicon.png`) and Streamlit's own routes (`/media/...`, `/component/...`) are not pages."""


def base_url_hint(page: str) -> bytes:
    """The script that gives Streamlit's frontend its server's base URL, for the page the app
    itself calls `page` (`/review`, or `/` for the default page). The path is the request's, so
    it is written as a JavaScript string that no `</script>` or `<!--` can end."""
    served = json.dumps(page.rstrip("/"))  # ASCII: U+2028 and the like come out escaped too
    served = served.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _HINT.replace("SERVED", served).encode()


def page_path(path: str, base_url_path: str, root_path: str = "") -> str:
    """The path of a request as the app names its pages: without the ASGI root path (where the
    app is mounted) or `server.baseUrlPath`."""
    for prefix in (root_path, base_url_path):
        prefix = "/" + prefix.strip("/")
        if prefix != "/" and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix):] or "/"
    return path


class BaseUrlHint:
    """ASGI middleware: puts `base_url_hint` at the top of the `<head>` of each page served.

    Only a browser's request for a page is touched (GET, accepting HTML, at a page's path);
    it is answered whole and uncompressed (a few kilobytes). Every other request, and any
    answer that is not an uncompressed HTML page, passes unchanged."""

    def __init__(self, app: ASGIApp, base_url_path: Callable[[], str] = lambda: "") -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = page_path(scope["path"], self.base_url_path(), scope.get("root_path", "")) \
            if scope["type"] == "http" else ""
        if not (_PAGE.fullmatch(page) and _asks_for_page(scope)):
            await self.app(scope, receive, send)
            return
        hint = base_url_hint(page)
        extensions = {k: v for k, v in (scope.get("extensions") or {}).items() if k != "http.response.pathsend"}
        scope = {**scope, "extensions": extensions,  # the file itself, never its path to send: it is amended
                 "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in _PAGE_REQUEST_HEADERS]}
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
    """A browser's GET of a page (a download is a GET accepting HTML too, but not at a page path)."""
    return scope["method"] == "GET" and b"text/html" in dict(scope["headers"]).get(b"accept", b"")


def _is_plain_html(start: Message) -> bool:
    headers = {k.lower(): v for k, v in start.get("headers", [])}
    html = headers.get(b"content-type", b"").startswith(b"text/html")
    return start.get("status") == 200 and html and b"content-encoding" not in headers
