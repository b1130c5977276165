"""Data: upload train/test files, load the sample, see what the project holds."""

import pandas as pd
import streamlit as st

from pages.common import project_store
from roleext.errors import InvalidFileError, RoleextError
from roleext.io import load_chat_file
from roleext.markup import escape_markdown
from roleext.overview import length_histogram, split_overviews
from roleext.sample import import_sample

store = project_store()
st.title("Data")
st.caption("Upload train.json (chats with gold infos) and test_data.json. A bad file is refused "
           "whole and nothing already stored changes.")

uploaded = st.file_uploader("train.json or test_data.json (drag and drop works too)", type=["json", "jsonl"])
split_choice = st.radio("Split", ["guess from the content", "train", "test"], horizontal=True)
if uploaded is not None and st.session_state.get("imported_upload") != (uploaded.file_id, split_choice):
    try:
        chat_file = load_chat_file(uploaded.getvalue(),
                                   split=None if split_choice.startswith("guess") else split_choice)  # type: ignore[arg-type]
        report = store.import_chat_file(chat_file)
    except InvalidFileError as exc:
        st.error(f"{escape_markdown(uploaded.name)} cannot be used: {len(exc.problems)} problems. "
                 "Nothing was imported.")
        st.markdown("\n".join(f"- {escape_markdown(str(problem))}" for problem in exc.problems[:50]))
    except RoleextError as exc:
        st.error(escape_markdown(str(exc)))
    else:
        st.session_state["imported_upload"] = (uploaded.file_id, split_choice)
        st.success(f"{escape_markdown(uploaded.name)}: {report.line()}")
        notes = [*chat_file.warnings, *chat_file.lints]
        if notes:
            with st.expander(f"{len(notes)} warnings and lints (kept as they are)"):
                st.markdown("\n".join(f"- {escape_markdown(str(problem))}" for problem in notes))

if st.button("Load sample data", help="ten train chats with gold and five test chats written for roleext"):
    for report in import_sample(store):
        st.success(report.line())

infos = store.list_records()
if not infos:
    st.info("No data yet: upload a file above, or load the sample data.")
    st.stop()

st.subheader("What the project holds")
st.dataframe(pd.DataFrame([vars(o) for o in split_overviews(infos)]).rename(columns={
    "over_limit": "over 8,000 characters", "median_chars": "median characters"}), hide_index=True)
st.subheader("Chat lengths (characters)")
histogram = length_histogram(infos)
st.bar_chart(pd.DataFrame(histogram).T, x_label="characters", y_label="chats", stack=True)
with st.expander("All records"):
    st.dataframe(pd.DataFrame([{"split": r.split, "record": r.index, "characters": r.chat_chars,
                                "customers": r.customers, "status": r.status.value,
                                "summary": r.has_summary, "prediction": r.has_prediction} for r in infos]),
                 hide_index=True)
