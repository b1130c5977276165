"""Evaluate: the competition metric on records with gold, beside what doing nothing scores."""

import altair as alt
import pandas as pd
import streamlit as st

from pages.resources import project_store
from roleext.evaluation import evaluate, field_rows, mistake_rows
from roleext.io import SPLITS
from roleext.schema import MAX_RECORD_SCORE

store = project_store()
st.title("Evaluate")
split = st.radio("Split", SPLITS, horizontal=True)
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

table = pd.DataFrame(field_rows(report))
# An Altair chart rather than st.bar_chart: bars in the schema's order, and whole field names
# (Vega cuts axis labels at 180 px, leaving three bars reading "下一步跟进计划-…").
bars = table.melt(id_vars="field", value_vars=["earned", "weight"], var_name="points")
st.altair_chart(
    alt.Chart(bars).mark_bar().encode(
        x=alt.X("value:Q", title="points"),
        y=alt.Y("field:N", sort=list(table["field"]), title=None, axis=alt.Axis(labelLimit=0)),
        yOffset="points:N", color="points:N", tooltip=["field", "points", "value"]))
st.dataframe(table, hide_index=True)

st.subheader(f"Wrong fields ({len(report.mistakes)})")
mistakes = mistake_rows(report)
if mistakes:
    st.caption("Click a row to open its record in Review, the prediction beside the gold.")
    picked = st.dataframe(pd.DataFrame(mistakes), hide_index=True, key="evaluate_mistakes",
                          on_select="rerun", selection_mode="single-row")
    if picked.selection.rows:
        row = mistakes[picked.selection.rows[0]]
        st.session_state["review_show_prediction"] = True
        st.switch_page("pages/review.py", query_params={"split": split, "record": str(row["record"])})
