"""Train: runs with live loss curves and sample timelines, start/stop, compare, promote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import common, data, jobs
from curation.export import list_exports
from gan.rundir import new_run_dir
from studio.config import load_config
from studio.models import current, promote
from studio.workspace import Workspace


def render() -> None:
    ws = common.workspace()
    st.title("Train")
    runs = data.list_runs(ws)
    tab_runs, tab_compare, tab_start = st.tabs(["Runs", "Compare", "Start a run"])
    with tab_runs:
        runs_tab(ws, runs)
    with tab_compare:
        compare_tab(runs)
    with tab_start:
        start_tab(ws)


def step_rows(metrics: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([m for m in metrics if "event" not in m])


def metric_rows(metrics: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([m for m in metrics if m.get("event") == "metric"])


def show_run(run: data.RunInfo) -> None:
    """Curves, img/s, metrics and the sample timeline of one run (re-read on every refresh)."""
    metrics = data.read_metrics(run.path)
    steps = step_rows(metrics)
    if steps.empty:
        st.info("No metrics yet: the run logs every `log_every` steps.")
    else:
        last = steps.iloc[-1]
        cols = st.columns(4)
        cols[0].metric("Step", int(last["step"]), help=f"of {run.record.config.total_steps()}")
        cols[1].metric("img/s", f"{last.get('img_per_s', 0):.0f}")
        cols[2].metric("D loss", f"{last.get('loss_d', float('nan')):.3f}")
        cols[3].metric("G loss", f"{last.get('loss_g', float('nan')):.3f}")
        losses = [c for c in ("loss_d", "loss_g") if c in steps]
        st.line_chart(steps, x="step", y=losses, x_label="step", y_label="loss")
        outputs = [c for c in ("d_real", "d_fake") if c in steps]
        if outputs:
            st.line_chart(steps, x="step", y=outputs, x_label="step", y_label="D output")
    evals = metric_rows(metrics)
    if not evals.empty and "swd" in evals:
        st.markdown("**Sliced Wasserstein distance** (lower is better)")
        st.line_chart(evals, x="step", y="swd", x_label="step", y_label="SWD")
    grids = data.sample_grids(run.path)
    if grids:
        by_step = dict(grids)
        step = st.select_slider("Samples at step", options=list(by_step), value=grids[-1][0],
                                key=f"timeline-{run.id}")
        st.image(str(by_step[step]), caption=f"{run.id}: fixed noise at step {step}")


def runs_tab(ws: Workspace, runs: list[data.RunInfo]) -> None:
    """The runs table; for the chosen run: stop or resume, its curves and samples, promotion."""
    app_jobs = {j.run_id: j for j in jobs.list_jobs(ws)}
    for path in data.unreadable_runs(ws):  # started, but not shown below: say so
        st.warning(f"{path.name}: its config.json cannot be read (damaged or edited by hand), so it is "
                   f"left out of the runs below. Its folder: {path}", icon=":material/warning:")
        if path.name in app_jobs:
            with st.expander(f"{path.name}: training log"):
                st.code(app_jobs[path.name].log_tail() or "(empty)", language=None)
    for job in app_jobs.values():  # started from the app but not training yet (loading data) or failed early
        if (ws.runs_dir / job.run_id / "config.json").exists():
            continue  # it started: shown as a run (or above, when its config.json is unreadable)
        state = "starting" if job.alive() else "ended before its first step"
        with st.expander(f"{job.run_id}: {state}", expanded=not job.alive()):
            st.code(job.log_tail() or "(no output yet)", language=None)
    if not runs:
        common.start_here("train", ws)
        return
    table = pd.DataFrame([{"run": r.id, "running": r.running, "step": r.last.get("step"),
                           "of": r.record.config.total_steps(), "resolution": r.record.config.resolution,
                           "images": r.record.images} for r in runs])
    st.dataframe(table, hide_index=True)
    by_id = {r.id: r for r in runs}  # ids as options: a run's metrics change between reruns
    run = by_id[st.selectbox("Run", list(by_id), key="run",
                             format_func=lambda i: i + (" (running)" if by_id[i].running else ""))]
    job = run_controls(ws, run)
    # A running run refreshes itself every 2 s; a finished one is drawn once.
    st.fragment(run_every=2 if run.running else None)(show_run)(run)
    if job is not None:
        with st.expander("Training log"):
            st.code(job.log_tail() or "(empty)", language=None)
    promote_section(ws, run)


def run_controls(ws: Workspace, run: data.RunInfo) -> jobs.Job | None:
    """Stop buttons for a run the app is training, Resume for one stopped early; its app job."""
    job = jobs.job_of(ws, run.id)
    if job is not None and job.alive():
        left, right = st.columns(2)
        if left.button("Stop run", icon=":material/stop:", help="SIGINT: the run finishes its step, "
                       "writes a checkpoint and exits; Resume continues it."):
            jobs.stop(job)
            st.toast("Asked the run to stop: it finishes the current step and writes a checkpoint.")
        if right.button("Force stop", icon=":material/cancel:", help="SIGKILL: at once, no checkpoint; "
                        "Resume continues from the last periodic one."):
            jobs.stop(job, force=True)
    elif not run.running and (stop := jobs.resumable(run.path)):
        how = f"stopped by {stop.signal}" if stop.signal else "ended early (killed or crashed)"
        st.info(f"{run.id} {how}: checkpoint at step {stop.step} of {stop.total}.")
        left, right = st.columns(2, vertical_alignment="bottom")
        to = left.number_input("Resume to step", stop.step + 1, 10_000_000, stop.total, key="resume-steps")
        if right.button("Resume", icon=":material/play_arrow:", key="resume-run"):
            job = jobs.start(ws, run.path, jobs.resume_command(ws, run.path, int(to)))
            st.success(f"Resumed {run.id} (pid {job.pid}); it continues from step {stop.step}.")
    return job


def promote_section(ws: Workspace, run: data.RunInfo) -> None:
    """Promote one of the run's checkpoints (its best preselected) to the workspace's model."""
    from gan.checkpoint import list_checkpoints, read_best  # torch: paid only once a run exists

    ckpts = list_checkpoints(run.path / "checkpoints")
    if not ckpts:
        return
    st.markdown("**Promote a checkpoint** (the app and `studio sample` use it by default)")
    best = (read_best(run.path / "checkpoints") or {}).get("checkpoint")
    names = [p.name for p in ckpts]
    pick = st.selectbox("Checkpoint", names, index=names.index(best) if best in names else len(names) - 1,
                        format_func=lambda n: n + (" (best)" if n == best else ""))
    promoted = current(ws)
    if st.button("Promote", type="primary", icon=":material/upgrade:"):
        latest = metric_rows(data.read_metrics(run.path))
        metrics = {} if latest.empty else {
            k: float(v) for k, v in latest.iloc[-1].items()
            if isinstance(v, int | float) and k not in ("step",) and pd.notna(v)}
        promote(ws, run=run.id, checkpoint=run.path / "checkpoints" / pick,
                export=data.export_of(ws, run.record), metrics=metrics,
                reason="promoted in the app")
        st.success(f"Promoted {run.id} {pick}.")
    elif promoted:
        st.caption(f"Currently promoted: {promoted.get('run')} `{promoted.get('checkpoint')}`")


def compare_tab(runs: list[data.RunInfo]) -> None:
    """Two runs side by side: the settings that differ, G-loss curves, evaluations, last grids."""
    if len(runs) < 2:
        st.info("Compare needs two runs.")
        return
    ids = [r.id for r in runs]
    left, right = st.columns(2)
    a_id = left.selectbox("Run A", ids, index=1, key="cmp-a")
    b_id = right.selectbox("Run B", ids, index=0, key="cmp-b")
    a, b = (next(r for r in runs if r.id == i) for i in (a_id, b_id))
    diff = data.config_diff(a.settings, b.settings)
    st.markdown("**Settings that differ**")
    if diff:
        st.dataframe(pd.DataFrame(diff).rename(columns={"a": a.id, "b": b.id}).astype(str),
                     hide_index=True)
    else:
        st.caption("Same settings.")
    curves = []
    for r in (a, b):
        rows = step_rows(data.read_metrics(r.path))
        if not rows.empty and "loss_g" in rows:
            curves.append(rows[["step", "loss_d", "loss_g"]].assign(run=r.id))
    if curves:
        both = pd.concat(curves)
        st.markdown("**G loss**")
        st.line_chart(both, x="step", y="loss_g", color="run")
    finals = [{"run": r.id, **metric_rows(data.read_metrics(r.path)).iloc[-1:].drop(
        columns=["event"], errors="ignore").to_dict("records")[0]}
        for r in (a, b) if not metric_rows(data.read_metrics(r.path)).empty]
    if finals:
        st.markdown("**Latest evaluation**")
        st.dataframe(pd.DataFrame(finals).astype(str), hide_index=True)
    cols = st.columns(2)
    for col, r in zip(cols, (a, b), strict=True):
        grids = data.sample_grids(r.path)
        if grids:
            col.image(str(grids[-1][1]), caption=f"{r.id} at step {grids[-1][0]}")


def start_tab(ws: Workspace) -> None:
    """A form that starts `studio train` in the background."""
    defaults = load_config(ws.config_path).train
    exports = [p / "images" for p in reversed(list_exports(ws.exports_dir))]
    with st.form("start-run"):
        choices = [str(p) for p in exports]
        data_dir = st.selectbox("Training images", choices, accept_new_options=True,
                                help="An export's images/ folder, or any folder of images.",
                                index=0 if choices else None, placeholder="/path/to/images",
                                key="start-data")
        c1, c2, c3, c4 = st.columns(4)
        resolution = c1.selectbox("Resolution", [32, 64, 128, 256],
                                  index=[32, 64, 128, 256].index(defaults.resolution), key="start-resolution")
        steps = c2.number_input("Steps", 1, 10_000_000, defaults.steps, key="start-steps")
        batch = c3.number_input("Batch", 1, 4096, defaults.batch, key="start-batch")
        device = c4.text_input("Device", defaults.device, key="start-device")
        desc = st.text_input("Name", "faces", help="Part of the run folder's name.")
        started = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:")
    st.caption("Other settings (augmentation, EMA, metrics…) come from `[train]` in studio.toml.")
    if started:
        if not data_dir or not Path(data_dir).is_dir():
            st.error(f"No folder of images at {data_dir or '(nothing chosen)'}.")
        else:
            run_dir = new_run_dir(ws.runs_dir, f"{desc}-r{resolution}")
            job = jobs.start(ws, run_dir, jobs.train_command(
                ws, run_dir, Path(data_dir), resolution=int(resolution), steps=int(steps),
                batch=int(batch), device=device))
            st.success(f"Started {run_dir.name} (pid {job.pid}); it shows under Runs in a moment.")


render()
