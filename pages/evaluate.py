"""Evaluate: the competition metric on records with gold, beside what doing nothing scores."""

import pandas as pd
import streamlit as st

from pages.common import project_store
from roleext.evaluation import evaluate
from roleext.schema import MAX_RECORD_SCORE

store = project_store()
st.title("Evaluate")
split = st.radio("Split", ["train", "test"], horizontal=True)
result = evaluate(store, split)
if result is None:
    st.info(f"No record of the {split} split has gold: import a train file and run inference on it.")
    st.stop()

report = result.report
columns = st.columns(3)
columns[0].metric("Score", f"{report.score:.4f}", f"{report.score - result.baselines['prior']:+.4f} vs prior")
columns[1].metric("All-empty baseline", f"{result.baselines['all-empty']:.4f}")
columns[2].metric("Prior baseline", f"{result.baselines['prior']:.4f}")
st.caption(f"{report.records} records with gold, {result.predicted} with a prediction (the rest count as empty "
           f"answers); {MAX_RECORD_SCORE} points a record. Method: {report.method}.")

table = pd.DataFrame([{"field": f.field, "weight": f.weight, "earned": round(f.earned, 4),
                       "accuracy": round(f.accuracy, 3)} for f in report.fields])
st.bar_chart(table.set_index("field")[["earned", "weight"]], stack=False, horizontal=True)
st.dataframe(table, hide_index=True)

st.subheader(f"Wrong fields ({len(report.mistakes)})")
mistakes = pd.DataFrame([{"record": m.index, "customer": m.customer, "field": m.field, "gold": str(m.gold),
                          "predicted": str(m.predicted), "earned": round(m.earned, 2), "of": m.possible}
                         for m in report.mistakes])
if not mistakes.empty:
    st.dataframe(mistakes, hide_index=True)
    chosen = st.selectbox("Open a record in Review", sorted(set(mistakes["record"])))
    if st.button("Open in Review"):
        st.session_state["review_split"] = split
        st.session_state["review_target"] = int(chosen)
        st.switch_page("pages/review.py")
