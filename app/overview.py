"""Overview: the funnel from crawled images to accepted crops, crawls, runs and the promoted model."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import catalog_view, common, data, rules_panel
from studio.workspace import Workspace


def render() -> None:
    ws = common.workspace()
    st.title("Overview")
    funnel_section(ws)
    rules_panel.rules_section(ws)
    latest_crawl(ws)
    training_runs(ws)
    promoted_model(ws)


# Stage → (what it counts, in words; the unit).
FUNNEL_STAGES = {
    "crawled": ("crawled images", "images"),
    "detected": ("images with a face", "images"),
    "cropped": ("face crops", "crops"),
    "unique": ("unique crops", "crops"),
    "accepted": ("accepted crops", "crops"),
}


def funnel_section(ws: Workspace) -> None:
    """The funnel, per source domain."""
    domains = data.source_domains(ws)
    st.subheader("Dataset funnel")
    if not domains:
        common.start_here("crawl", ws)
        return
    funnel = catalog_view.funnel(ws)
    if funnel is None:
        total = sum(d["images"] for d in domains)
        st.metric("Crawled images", total)
        common.start_here("curate", ws)
        st.dataframe(pd.DataFrame(domains), hide_index=True)
        return
    stages = funnel["stages"]  # {"crawled": n, "detected": n, "cropped": n, "unique": n, "accepted": n}
    # The first two stages count source images, the last three face crops (an image may give
    # several crops, or none): two series, so the axis never calls a crop an image.
    st.bar_chart(pd.DataFrame({
        "stage": [FUNNEL_STAGES[s][0] for s in stages],
        "source images": [n if FUNNEL_STAGES[s][1] == "images" else 0 for s, n in stages.items()],
        "face crops": [n if FUNNEL_STAGES[s][1] == "crops" else 0 for s, n in stages.items()],
    }), x="stage", y=["source images", "face crops"], x_label="", y_label="count",
        horizontal=True, sort=False, color=["#4c78a8", "#f58518"])
    st.caption("Crawled and detected count source images; cropped, unique and accepted count "
               "face crops (one image can hold several faces).")
    per_domain = pd.DataFrame(funnel["domains"])
    st.dataframe(per_domain, hide_index=True, column_config={
        **{s: st.column_config.NumberColumn(label, help=f"{label} from this source domain")
           for s, (label, _) in FUNNEL_STAGES.items()},
        "pollution_rate": st.column_config.ProgressColumn(
            "pollution rate", format="percent", min_value=0.0, max_value=1.0,
            help="share of this domain's crops the pollution filter scores over its threshold")})


def latest_crawl(ws: Workspace) -> None:
    crawls = data.crawl_history(ws)
    if not crawls:
        return
    st.subheader("Latest crawl")
    last = crawls[-1]
    cols = st.columns(5)
    cols[0].metric("Pages", last.get("pages", 0))
    cols[1].metric("Images found", last.get("images_found", 0))
    cols[2].metric("Stored", last.get("stored", 0))
    cols[3].metric("Duplicates", last.get("duplicates", 0))
    cols[4].metric("Rejected", sum((last.get("rejected") or {}).values()))
    st.caption(f"Crawl `{last['crawl']}` started {last.get('started_at', '?')}, "
               f"{last.get('duration_s', 0):.0f} s, finished: {last.get('finish_reason', '?')}; "
               f"{len(crawls)} crawls in all.")


def training_runs(ws: Workspace) -> None:
    runs = data.list_runs(ws)
    st.subheader("Training runs")
    if not runs:
        common.start_here("train", ws)
        return
    rows = []
    for r in runs[:10]:
        evals = [m for m in data.read_metrics(r.path) if isinstance(m.get("swd"), int | float)]
        rows.append({"run": r.id, "running": r.running, "step": r.last.get("step") or 0,
                     "train_swd": evals[-1]["swd"] if evals else None,
                     "swd_step": evals[-1]["step"] if evals else None})
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
        "step": st.column_config.NumberColumn("step", help="the run's latest training step"),
        "train_swd": st.column_config.NumberColumn(
            "SWD while training", format="%.2f",
            help="The run's own latest evaluation while it trained: its EMA generator's samples "
                 "against as many of its training images (lower is better). For watching a run; "
                 "the promoted model's SWD below is measured on the gate's fixed set instead."),
        "swd_step": st.column_config.NumberColumn("SWD at step", help="the step of that evaluation"),
    })


def promoted_model(ws: Workspace) -> None:
    st.subheader("Promoted model")
    promoted = data.promoted(ws)
    if promoted is None:  # nothing promoted, or its checkpoint was deleted
        st.info("No model promoted yet: promote a run's checkpoint on the Train page.")
        return
    pointer, ckpt = promoted.pointer, promoted.checkpoint
    left, right = st.columns([1, 2])
    with left:
        st.markdown(f"**{pointer['run']}** · `{pointer.get('checkpoint', '')}`")
        st.caption(f"promoted {pointer.get('promoted_at', '?')}")
        promoted_metrics(ws, pointer)
    with right:
        from gan.sampling import sample_grid  # torch: paid only once a model is promoted

        st.image(sample_grid(common.generator(ckpt), n=16, seed=0, nrow=8),
                 caption="Seed 0, 16 samples")


METRIC_NAMES = {"swd": "SWD", "fid": "FID", "kid": "KID"}


def promoted_metrics(ws: Workspace, pointer: dict) -> None:
    """The promoted model's quality numbers, each labelled with the set it was measured on: the
    pipeline's gate set (same images and seed for every candidate, so two models compare), or,
    for a checkpoint promoted by hand, the run's own evaluation while training."""
    metrics = {k: v for k, v in (pointer.get("metrics") or {}).items()
               if k in METRIC_NAMES and isinstance(v, int | float)}
    if not metrics:
        st.caption("No quality measure was recorded when it was promoted.")
        return
    gate = data.gate_eval_set(ws, pointer.get("run") or "")
    if gate:
        where = (f"the gate's evaluation set: {gate.get('images', '?')} images of export "
                 f"{gate.get('export', '?')}, seed {gate.get('seed', '?')}, "
                 f"{gate.get('resolution', '?')} px")
    else:
        where = "the run's own evaluation while training, when it was promoted"
    for name, value in metrics.items():
        st.metric(f"{METRIC_NAMES[name]} (lower is better)", f"{value:.2f}",
                  help=f"Measured on {where}.")
    st.caption(f"Measured on {where}. The runs table's *SWD while training* is measured on "
               "other samples (each run's own, at its own step), so the two differ for the same "
               "checkpoint; compare models by this one.")


render()
