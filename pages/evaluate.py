"""Evaluate: the competition metric on records with gold, beside what doing nothing scores, and
two inference runs side by side."""

import altair as alt
import pandas as pd
import streamlit as st

from pages.language import _, column_labels, ngettext, session_language
from pages.pager import pager
from pages.resources import project_store
from pages.rule_panel import rule_panel
from pages.run_picker import run_picker
from roleext.evaluation import Evaluation, RunComparison, compare_runs, evaluate, field_rows, mistake_rows
from roleext.i18n import translate
from roleext.io import SPLITS, Split
from roleext.paging import project_version, rows_of
from roleext.runs import RunBook
from roleext.schema import MAX_RECORD_SCORE

store = project_store()
st.title(_("Evaluate"))
split = st.radio(_("Split"), SPLITS, horizontal=True, key="evaluate_split")
book = RunBook(store)
runs = book.newest_first(split)
shown = book.shown(split)
first: int | None = None
second: int | None = None
if runs:
    pickers = st.columns(2)
    with pickers[0]:
        first = run_picker(_("Run"), runs, f"evaluate_run_{split}", shown.id if shown else runs[0].id)
    others = [run for run in runs if run.id != first]
    if others:
        with pickers[1]:
            second = run_picker(_("Compare with"), others, f"evaluate_other_{split}", others[0].id)


@st.cache_data(max_entries=8, show_spinner=False)
def scored(url: str, version: str, split: Split, run: int | None) -> Evaluation | None:
    """The score of a run, computed once per project version rather than on every widget change."""
    return evaluate(project_store(), split, run)


@st.cache_data(max_entries=8, show_spinner=False)
def compared(url: str, version: str, split: Split, one: int, two: int, language: str) -> RunComparison | None:
    """Two runs side by side; its differences hold text ("(empty)") in `language`."""
    return compare_runs(project_store(), split, one, two)


version = project_version(store)
result = scored(store.url, version, split, first)
if result is None:
    if split == "test" and scored(store.url, version, "train", None) is not None:  # train has gold
        st.info(_("The test split has no gold: the competition scores it. Choose train to score a run."))
    else:
        st.info(_("No record of the {split} split has gold: import a train file and run inference on it.").format(
            split=split))
    st.stop()

report = result.report
if first is None:  # nothing to score yet: what doing nothing scores, how to get a score, the rules
    empty_column, prior_column = st.columns(2)
    empty_column.metric(_("All-empty baseline"), f"{result.baselines['all-empty']:.4f}")
    prior_column.metric(_("Prior baseline"), f"{result.baselines['prior']:.4f}")
    st.info(_("No inference run on the {split} split yet: run one on the Inference page (Run over: {split}) "
              "to score it.").format(split=split))
    rule_panel(store, split)
    st.stop()
columns = st.columns(3)
# st.metric points the delta's arrow by its first character: every translation starts with the sign.
columns[0].metric(_("Score"), f"{report.score:.4f}",
                  _("{delta:+.4f} vs prior").format(delta=report.score - result.baselines["prior"]))
columns[1].metric(_("All-empty baseline"), f"{result.baselines['all-empty']:.4f}")
columns[2].metric(_("Prior baseline"), f"{result.baselines['prior']:.4f}")
st.caption(_("{records} records with gold, {predicted} with a prediction (the rest count as empty answers); "
             "{points} points a record. Method: {method}.").format(
    records=report.records, predicted=result.predicted, points=MAX_RECORD_SCORE, method=translate(report.method)))

comparison = (compared(store.url, version, split, first, second, session_language())
              if first is not None and second is not None else None)
if comparison is not None:
    st.subheader(_("Run {first} beside run {second}").format(first=first, second=second))
    st.dataframe(pd.DataFrame(comparison.score_rows()), hide_index=True, key="evaluate_runs", column_config={
            "run": _("run"), "score": _("score"), "vs all-empty": _("vs all-empty"), "vs prior": _("vs prior"),
            "predicted": _("records predicted")})
    sides = {"first": _("run {run}").format(run=first), "second": _("run {run}").format(run=second)}
    st.dataframe(pd.DataFrame(comparison.field_rows()), hide_index=True, key="evaluate_field_comparison",
                 column_config={**column_labels(), **sides,
                                "difference": _("run {second} − run {first}").format(first=first, second=second)})
    st.caption(ngettext("{n} record answered differently by the two runs, field by field:",
                        "{n} records answered differently by the two runs, field by field:",
                        comparison.records_differing).format(n=comparison.records_differing))
    if comparison.differences:
        differences = rows_of(comparison.differences, pager(len(comparison.differences), "evaluate_differences_page"))
        st.dataframe(pd.DataFrame(differences), hide_index=True, key="evaluate_differences",
                     column_config={**column_labels(), **sides,
                                    "first points": _("points, run {run}").format(run=first),
                                    "second points": _("points, run {run}").format(run=second)})
    st.subheader(_("Run {run} in detail").format(run=first))

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
    mistakes = rows_of(mistakes, pager(len(mistakes), f"evaluate_mistakes_page_{split}_{first}"))
if mistakes and (shown is None or first == shown.id):
    st.caption(_("Click a row to open its record in Review, the prediction beside the gold."))
    picked = st.dataframe(pd.DataFrame(mistakes), hide_index=True, key="evaluate_mistakes",
                          column_config=column_labels(),
                          on_select="rerun", selection_mode="single-row")
    if picked.selection.rows:
        row = mistakes[picked.selection.rows[0]]
        st.session_state["review_show_prediction"] = True
        st.switch_page("pages/review.py", query_params={"split": split, "record": str(row["record"])})
elif mistakes:  # Review shows the submission's run: opening a record there would compare another run
    st.caption(_("Review shows the predictions of run {run}, the one for the submission: choose it above to "
                 "open these records there.").format(run=shown.id if shown else "-"))
    st.dataframe(pd.DataFrame(mistakes), hide_index=True, key="evaluate_mistakes", column_config=column_labels())

rule_panel(store, split)
