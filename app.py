"""roleext web app: the pages of the workflow, in order. Run with `make run`."""

import streamlit as st

from pages.identity import signed_in
from pages.language import _, language_switch
from pages.session_settings import keep_settings
from roleext.heap import freeze_imports
from roleext.roles import PageName, pages_for

# The tab's icon: an emoji is drawn in the page; a page's Material icon would be fetched from
# fonts.gstatic.com, which an offline machine, or one in mainland China, cannot reach.
st.set_page_config(page_title="roleext", page_icon="📝", layout="wide")
keep_settings()  # before any page draws: what the user set on the page they left is kept
language_switch()  # before the titles below, which are in the language it holds
person = signed_in()  # None: team mode, and the sign-in is on screen

PAGES: dict[PageName, tuple[str, str]] = {
    "data": (_("Data"), ":material/upload_file:"),
    "summarize": (_("Summarize"), ":material/summarize:"),
    "review": (_("Review"), ":material/rate_review:"),
    "agreement": (_("Agreement"), ":material/compare_arrows:"),
    "export": (_("Export"), ":material/download:"),
    "inference": (_("Inference"), ":material/smart_toy:"),
    "evaluate": (_("Evaluate"), ":material/analytics:"),
}
# A role sees only the pages it may use (roleext.roles). Before the sign-in every page is known but
# hidden and none runs: the address asked for (/review?record=3) opens once the person is in.
shown = pages_for(person) if person is not None else list(PAGES)
page = st.navigation([st.Page(f"pages/{name}.py", title=PAGES[name][0], icon=PAGES[name][1],
                              default=name == shown[0]) for name in shown],
                     position="sidebar" if person is not None else "hidden")
try:
    if person is not None:
        page.run()
finally:
    freeze_imports()  # after the page, whose imports are the bulk of the heap (roleext.heap); st.stop() too
