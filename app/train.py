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
        start_tab(ws, runs)


def step_rows(metrics: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([m for m in metrics if "event" not in m])


def metric_rows(metrics: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([m for m in metrics if m.get("event") == "metric"])


def duration(seconds: float) -> str:
    """A human duration: 45 s, 12 min, 3 h 05 min."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_of(run: data.RunInfo, steps: pd.DataFrame) -> tuple[float, str]:
    """(fraction done, one line: step, speed and ETA) of a run, from its metrics lines; the speed
    is the mean img/s of the last five log windows (evaluations and checkpoints excluded)."""
    cfg = run.record.config
    total = cfg.total_steps()
    step = int(steps["step"].iloc[-1]) if not steps.empty else int(run.last.get("step") or 0)
    frac = min(max(step / total, 0.0), 1.0) if total else 0.0
    rates = steps["img_per_s"].dropna().tail(5) if "img_per_s" in steps else pd.Series(dtype=float)
    if rates.empty or rates.mean() <= 0:
        return frac, f"step {step:,} of {total:,}: ETA after the first log line (every {cfg.log_every} steps)"
    rate = float(rates.mean())
    eta = (total - step) * cfg.batch / rate
    return frac, f"step {step:,} of {total:,} · {rate:,.0f} img/s · ETA {duration(eta)}"


def chart(frame: pd.DataFrame, y: list[str] | str, y_label: str, what: str, every: str) -> None:
    """A line chart once there are two points; before that a sentence, not an empty frame with a
    lone fractional tick."""
    cols = [y] if isinstance(y, str) else y
    rows = frame.dropna(subset=cols, how="all") if not frame.empty and set(cols) <= set(frame) else frame.iloc[:0]
    if len(rows) >= 2:
        st.line_chart(rows, x="step", y=y, x_label="step", y_label=y_label)
    elif len(rows) == 1:
        last = rows.iloc[-1]
        values = ", ".join(f"{c} {float(last[c]):.3f}" for c in cols if pd.notna(last[c]))
        st.caption(f"**{what}**: one point so far (step {int(last['step'])}: {values}); "
                   f"the curve starts at the second ({every}).")
    else:
        st.caption(f"**{what}**: nothing yet ({every}).")


def show_run(run: data.RunInfo) -> None:
    """Progress, curves, img/s, metrics and the sample timeline of one run (re-read on every refresh)."""
    metrics = data.read_metrics(run.path)
    steps = step_rows(metrics)
    cfg = run.record.config
    every = f"a point every {cfg.log_every} steps"
    if run.running:
        frac, line = progress_of(run, steps)
        st.progress(frac, text=line)
    if steps.empty:
        st.info(f"No metrics yet: the run logs every {cfg.log_every} steps.")
    else:
        last = steps.iloc[-1]
        cols = st.columns(5 if "augment_p" in steps else 4)
        cols[0].metric("Step", f"{int(last['step']):,}", help=f"of {cfg.total_steps():,}")
        cols[1].metric("img/s", f"{last.get('img_per_s', 0):.0f}")
        cols[2].metric("D loss", f"{last.get('loss_d', float('nan')):.3f}")
        cols[3].metric("G loss", f"{last.get('loss_g', float('nan')):.3f}")
        if "augment_p" in steps:
            cols[4].metric("Augment p", f"{last['augment_p']:.3f}", help="ADA: the probability of each "
                           "augmentation, steered so E[sign D(real)] nears ada_target")
        chart(steps, [c for c in ("loss_d", "loss_g") if c in steps], "loss", "Losses", every)
        if {"d_real", "d_fake"} <= set(steps):
            chart(steps, ["d_real", "d_fake"], "D output", "D outputs", every)
        if "augment_p" in steps:
            chart(steps, "augment_p", "p", "Augmentation probability (ADA)", every)
        if {"r1", "r2"} & set(steps):
            chart(steps, [c for c in ("r1", "r2") if c in steps], "E|grad D|^2", "Gradient penalties", every)
    evals = metric_rows(metrics)
    if not evals.empty and "swd" in evals:
        st.markdown("**Sliced Wasserstein distance** (lower is better)")
        when = f"every {cfg.metric_every} steps and at the end" if cfg.metric_every else "at the end"
        chart(evals, "swd", "SWD", "SWD", f"evaluated {when}")
    grids = data.sample_grids(run.path)
    if len(grids) > 1:
        by_step = dict(grids)
        step = st.select_slider("Samples at step", options=list(by_step), value=grids[-1][0],
                                key=f"timeline-{run.id}")
        st.image(str(by_step[step]), caption=f"{run.id}: fixed noise at step {step}")
    elif grids:
        st.image(str(grids[0][1]), caption=f"{run.id}: fixed noise at step {grids[0][0]}")


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
    table = pd.DataFrame([run_row(r) for r in runs])
    st.dataframe(table, hide_index=True, column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
        "step": st.column_config.NumberColumn("step", format="%d")})
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


def run_row(r: data.RunInfo) -> dict:
    """One line of the runs table: the step reached is 0 (never None) before the first log line."""
    total = r.record.config.total_steps()
    step = int(r.last.get("step") or 0)
    return {"run": r.id, "status": "running" if r.running else ("finished" if step >= total else "ended early"),
            "step": step, "of": total, "progress": min(step / total, 1.0) if total else 0.0,
            "resolution": r.record.config.resolution, "images": r.record.images}


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


AUGMENT = {"off": "no augmentation",
           "adaptive": "adaptive (ADA): translation, cutout, colour, each with a probability p that rises "
                       "only while D overfits",
           "always": "DiffAugment: translation, cutout, colour on every image"}
LOSSES = {"ns": "non-saturating (DCGAN paper)", "rpgan": "relativistic pairing (R3GAN)", "hinge": "hinge"}
PENALTIES = {"none": "none", "r1": "R1 on reals", "r1r2": "R1 on reals + R2 on fakes"}
ALL_OPS = "translation,cutout,color"


def estimate(runs: list[data.RunInfo], resolution: int, batch: int, steps: int, device: str,
             widths: tuple[int, int]) -> tuple[float, str] | None:
    """(seconds, what it is based on) for `steps` steps, from the img/s this workspace's runs
    measured: a run at the same resolution and widths on the same kind of device if there is
    one, else the nearest, scaled by pixels and widths (a convolution's cost grows with both)."""
    kind = "cuda" if device.startswith("cuda") else "cpu" if device == "cpu" else ""
    seen = []
    for r in runs:
        rates = [m["img_per_s"] for m in data.read_metrics(r.path) if isinstance(m.get("img_per_s"), int | float)]
        if not rates or (kind and not r.record.device.startswith(kind)):
            continue
        c = r.record.config
        rate = sorted(rates[-5:])[len(rates[-5:]) // 2]  # median of the last windows
        cost = (resolution / c.resolution) ** 2 * (widths[0] * widths[1]) / (c.g_width * c.d_width)
        seen.append((abs(cost - 1), rate / cost, r, c))
    if not seen:
        return None
    off, rate, r, c = min(seen, key=lambda t: t[0])
    how = (f"{r.id} ran {rate:,.0f} img/s on {r.record.device}" if off == 0 else
           f"scaled from {r.id} ({c.resolution} px, widths {c.g_width}/{c.d_width}, {r.record.device}): rough")
    return steps * batch / rate, how


def start_tab(ws: Workspace, runs: list[data.RunInfo] | None = None) -> None:
    """The settings a user tunes, the estimated time, and a button that starts `studio train`
    in the background (the remaining settings come from studio.toml's [train])."""
    defaults = load_config(ws.config_path).train
    exports = [p / "images" for p in reversed(list_exports(ws.exports_dir))]
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
    c1, c2, c3, c4 = st.columns(4)
    aug_now = "adaptive" if defaults.ada_target > 0 else ("always" if defaults.augment_ops() else "off")
    augment = c1.selectbox("Augmentation", list(AUGMENT), index=list(AUGMENT).index(aug_now),
                           format_func=lambda k: {"off": "off", "adaptive": "adaptive (ADA)",
                                                  "always": "always (DiffAugment)"}[k],
                           key="start-augment", help="\n\n".join(f"**{k}**: {v}" for k, v in AUGMENT.items())
                           + "\n\nAdaptive suits small sets: p stays near 0 while D does not overfit.")
    ema = c2.number_input("EMA half-life (kimg)", 0.0, 1000.0, float(defaults.ema_kimg), step=1.0,
                          key="start-ema", help="Samples come from an average of G's weights; 0 = off.")
    loss = c3.selectbox("Loss", list(LOSSES), index=list(LOSSES).index(defaults.loss), format_func=LOSSES.get,
                        key="start-loss")
    pen_now = "r1r2" if defaults.r2_gamma else ("r1" if defaults.r1_gamma else "none")
    penalty = c4.selectbox("Gradient penalty", list(PENALTIES), index=list(PENALTIES).index(pen_now),
                           format_func=PENALTIES.get, key="start-penalty",
                           help="Zero-centred: gamma/2 * E|grad D|^2, every reg_every steps; D then has no "
                                "BatchNorm.")
    gamma = 0.0
    if penalty != "none":
        gamma = st.number_input("Penalty weight gamma", -100.0, 100.0,
                                float(defaults.r1_gamma or defaults.r2_gamma or 0.1), step=0.05, format="%.4f",
                                key="start-gamma", help="< 0: that multiple of StyleGAN2-ADA's heuristic "
                                "0.0002 * resolution^2 / batch.")
    xflip = st.checkbox("Mirror images (x-flip)", defaults.xflip, key="start-xflip",
                        help="Mirror half of the training images at random. Only for left-right symmetric "
                             "data: on lfw faces, which have a handedness, it made SWD 1.9x worse.")
    desc = st.text_input("Name", "faces", help="Part of the run folder's name.")
    est = estimate(runs or [], int(resolution), int(batch), int(steps), device,
                   (defaults.g_width, defaults.d_width))
    if est:
        st.caption(f"Estimated time for {int(steps):,} steps: **{duration(est[0])}** ({est[1]}; "
                   "evaluations and checkpoints add to it).")
    else:
        st.caption(f"Estimated time for {int(steps):,} steps: not known yet — no run on this workspace has "
                   "logged a speed on this device. Start a short run first; its img/s gives the estimate.")
    started = st.button("Start training", type="primary", icon=":material/play_arrow:")
    st.caption("Other settings (widths, learning rates, metrics…) come from `[train]` in studio.toml.")
    if started:
        if not data_dir or not Path(data_dir).is_dir():
            st.error(f"No folder of images at {data_dir or '(nothing chosen)'}.")
            return
        settings = {"loss": loss, "ema_kimg": ema, "xflip": bool(xflip),
                    "augment": ALL_OPS if augment != "off" else "",
                    "ada_target": (defaults.ada_target or 0.6) if augment == "adaptive" else 0.0,
                    "r1_gamma": gamma if penalty != "none" else 0.0,
                    "r2_gamma": gamma if penalty == "r1r2" else 0.0}
        if augment != "off" and defaults.augment_ops():
            settings["augment"] = defaults.augment
        run_dir = new_run_dir(ws.runs_dir, f"{desc}-r{resolution}")
        job = jobs.start(ws, run_dir, jobs.train_command(
            ws, run_dir, Path(data_dir), resolution=int(resolution), steps=int(steps),
            batch=int(batch), device=device, settings=settings))
        st.success(f"Started {run_dir.name} (pid {job.pid}); it shows under Runs in a moment.")


render()
