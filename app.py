"""roleext web app: the pages of the workflow, in order. Run with `make run`."""

import streamlit as st

from pages.language import _, language_switch
from pages.session_settings import keep_settings

st.set_page_config(page_title="roleext", layout="wide")
keep_settings()  # before any page draws: what the user set on the page they left is kept
language_switch()  # before the titles below, which are in the language it holds

pages = [
    st.Page("pages/data.py", title=_("Data"), icon=":material/upload_file:", default=True),
    st.Page("pages/summarize.py", title=_("Summarize"), icon=":material/summarize:"),
    st.Page("pages/review.py", title=_("Review"), icon=":material/rate_review:"),
    st.Page("pages/agreement.py", title=_("Agreement"), icon=":material/compare_arrows:"),
    st.Page("pages/export.py", title=_("Export"), icon=":material/download:"),
    st.Page("pages/inference.py", title=_("Inference"), icon=":material/smart_toy:"),
    st.Page("pages/evaluate.py", title=_("Evaluate"), icon=":material/analytics:"),
]
st.navigation(pages).run()
