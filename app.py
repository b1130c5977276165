"""roleext web app: upload chats, see what the project holds (more pages come with issue 4)."""

import pandas as pd
import streamlit as st

from roleext.errors import RoleextError
from roleext.io import load_chat_file
from roleext.sample import import_sample
from roleext.store import ProjectStore, database_url

st.set_page_config(page_title="roleext", layout="wide")


@st.cache_resource
def project_store(url: str) -> ProjectStore:
    return ProjectStore(url)


store = project_store(database_url())
st.title("roleext")
st.caption("Role-element extraction data: chats in, fine-tuning rows and submissions out.")

uploaded = st.file_uploader("Upload train.json or test_data.json", type=["json", "jsonl"])
if uploaded is not None and st.session_state.get("imported_upload") != uploaded.file_id:
    try:
        chat_file = load_chat_file(uploaded.getvalue())
        report = store.import_chat_file(chat_file)
    except RoleextError as exc:
        st.error(str(exc))
    else:
        st.session_state["imported_upload"] = uploaded.file_id
        st.success(report.line())
        for problem in [*chat_file.warnings, *chat_file.lints]:
            st.warning(str(problem))

if st.button("Load sample data"):
    for report in import_sample(store):
        st.success(report.line())

records = store.list_records()
if not records:
    st.info("No data yet: upload a file above, or load the sample data.")
    st.stop()
st.dataframe(
    pd.DataFrame([{"split": r.split, "record": r.index, "characters": r.chat_chars,
                   "customers": r.customers, "status": r.status.value} for r in records]),
    hide_index=True,
)
