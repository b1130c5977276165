"""Evaluate: the competition metric on records with gold, beside what doing nothing scores."""

import altair as alt
import pandas as pd
import streamlit as st

from pages.language import _, column_labels
from pages.resources import project_store
from pages.rule_panel import rule_panel
from roleext.evaluation import evaluate, field_rows, mistake_rows
from roleext.i18n import translate
from roleext.io import SPLITS
from roleext.schema import MAX_RECORD_SCORE

store = project_store()
st.title(_("Evaluate"))
split = st.radio(_("Split"), SPLITS, horizontal=True, key="evaluate_split")
result = evaluate(store, split)
if result is None:
    st.info(_("No record of the {split} split has gold: import a train file and run inference on it.").format(
        split=split))
    st.stop()

report = result.report
columns = st.columns(3)
# st.metric points the delta's arrow by its first character: every translation starts with the sign.
columns[0].metric(_("Score"), f"{report.score:.4f}",
                  _("{delta:+.4f} vs prior").format(delta=report.score - result.baselines["prior"]))
columns[1].metric(_("All-empty baseline"), f"{result.baselines['all-empty']:.4f}")
columns[2].metric(_("Prior baseline"), f"{result.baselines['prior']:.4f}")
st.caption(_("{records} records with gold, {predicted} with a prediction (the rest count as empty answers); "
             "{points} points a record. Method: {method}.").format(
    records=report.records, predicted=result.predicted, points=MAX_RECORD_SCORE, method=translate(report.method)))

table = pd.DataFrame(field_rows(report))
# An Altair chart rather than st.bar_chart: bars in the schema's order, and whole field names
# (Vega cuts axis labels at 180 px, leaving three bars reading "下一步跟进计划-…").
bars = table.melt(id_vars="field", value_vars=["earned", "weight"], var_name="points")
bars["points"] = bars["points"].map({"earned": _("earned"), "weight": _("weight")})  # the legend's words
st.altair_chart(
    alt.Chart(bars).mark_bar().encode(
        x=alt.X("value:Q", title=_("points")),
        y=alt.Y("field:N", sort=list(table["field"]), title=None, axis=alt.Axis(labelLimit=0)),
        yOffset="points:N", color=alt.Color("points:N", title=_("points")),
        tooltip=[alt.Tooltip("field:N", title=_("field")), alt.Tooltip("points:N", title=_("points")),
                 alt.Tooltip("value:Q", title=_("value"))]))
st.dataframe(table, hide_index=True, column_config=column_labels())

st.subheader(_("Wrong fields ({n})").format(n=len(report.mistakes)))
mistakes = mistake_rows(report)
if mistakes:
    st.caption(_("Click a row to open its record in Review, the prediction beside the gold."))
    picked = st.dataframe(pd.DataFrame(mistakes), hide_index=True, key="evaluate_mistakes",
                          column_config=column_labels(),
                          on_select="rerun", selection_mode="single-row")
    if picked.selection.rows:
        row = mistakes[picked.selection.rows[0]]
        st.session_state["review_show_prediction"] = True
        st.switch_page("pages/review.py", query_params={"split": split, "record": str(row["record"])})

rule_panel(store, split)
