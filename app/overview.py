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
    st.bar_chart(pd.DataFrame({"stage": list(stages), "images": list(stages.values())}),
                 x="stage", y="images", horizontal=True, sort=False)
    per_domain = pd.DataFrame(funnel["domains"])
    st.dataframe(per_domain, hide_index=True,
                 column_config={"pollution_rate": st.column_config.ProgressColumn(
                     "pollution rate", format="percent", min_value=0.0, max_value=1.0)})


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
    st.dataframe(pd.DataFrame([{"run": r.id, "running": r.running, "step": r.last.get("step"),
                                **{k: v for k, v in r.last.items() if k != "step"
                                   and isinstance(v, int | float)}} for r in runs[:10]]),
                 hide_index=True)


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
        for name, value in (pointer.get("metrics") or {}).items():
            st.metric(name, f"{value:.4g}" if isinstance(value, float) else value)
    with right:
        from gan.sampling import sample_grid  # torch: paid only once a model is promoted

        st.image(sample_grid(common.generator(ckpt), n=16, seed=0, nrow=8),
                 caption="Seed 0, 16 samples")


render()
