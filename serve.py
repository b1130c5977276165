"""roleext's web server: `streamlit run serve.py` serves the app of app.py.

It is Streamlit's own server (st.App) with one addition, roleext.serving.BaseUrlHint: each
page tells the browser where the server is, which saves about 150 ms of every full page load.
`streamlit run app.py` still works; its pages just load that much slower.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from roleext.serving import BaseUrlHint


def base_url_path() -> str:
    """`server.baseUrlPath` as configured when a page is asked for (flags and config.toml included)."""
    return str(st.get_option("server.baseUrlPath"))


app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(BaseUrlHint, base_url_path=base_url_path)])
