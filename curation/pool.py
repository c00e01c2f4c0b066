"""curate's worker processes, with quarantine: an image that kills its worker cannot stop a run.

Images go to a spawn process pool, a bounded number in flight. When a worker dies (the OOM
killer, a native crash in a decoder or a detector plug-in) the pool breaks and every image then in
flight is a suspect: the pool restarts for the images not yet tried, and each suspect is retried
alone in a process of its own, once. An image that kills that process too comes back as status
`failed` with the reason; the others come back as if nothing had happened. A lone worker that
cannot even start stops the run instead (that is no image's fault).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from curation.children import die_with_parent, spawn_context
from curation.config import CurateConfig
from curation.errors import CurationError
from curation.process import SourceResult, init_worker, process_source

IN_FLIGHT = 4  # images queued per worker: enough to keep it busy, few to retry after a crash


def run_pool(todo: list[tuple[str, str]], cfg: CurateConfig, root: Path,
             progress: bool) -> Iterator[SourceResult]:
    """Results in completion order (quarantined images last, as `failed` results)."""
    from tqdm import tqdm

    args = (os.getpid(), dataclasses.asdict(cfg), str(root / "faces"))
    bar = tqdm(total=len(todo), desc="curate", unit="img", disable=not progress)
    items, suspects = deque(todo), []
    try:
        while items:  # one pool per pass; a pass ends when the list is done or a worker died
            for result in _pool_pass(items, suspects, min(cfg.workers, len(items)), args):
                bar.update()
                yield result
        for item in suspects:
            bar.update()
            yield alone(item, args)
    finally:
        bar.close()


def _pool_pass(items: deque, suspects: list, workers: int, args: tuple) -> Iterator[SourceResult]:
    """Work through `items` until it is empty or the pool breaks; on a break every image then
    in flight moves to `suspects` (the untried ones stay in `items` for the next pass)."""
    ctx = spawn_context()  # fork after fiftyone/pymongo threads is unsafe
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_pool_worker,
                             initargs=args) as pool:
        running: dict = {}

        def submit_next() -> None:
            item = items.popleft()
            try:
                running[pool.submit(process_source, *item)] = item
            except BrokenProcessPool:  # broke since the last wait: this one was never tried
                items.appendleft(item)

        try:
            while items and len(running) < IN_FLIGHT * workers:
                submit_next()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        suspects.extend(running.values())
                        running.clear()
                        return
                    del running[future]
                    yield result
                    if items:
                        submit_next()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def init_pool_worker(parent_pid: int, *args) -> None:
    """A worker ends when `curate` does, even after a kill -9 of curate (no orphans)."""
    die_with_parent(parent_pid)
    init_worker(*args)


def alone(item: tuple[str, str], args: tuple) -> SourceResult:
    """Process one suspect image in a fresh process; `failed` if that process dies on it."""
    ctx = spawn_context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_work_alone, args=(send, args, item), daemon=True)
    child.start()
    send.close()
    ready = result = None
    try:
        ready = receive.recv()  # the worker is set up: from here on a death is the image's doing
        result = receive.recv()
    except EOFError:  # died before answering
        pass
    finally:
        receive.close()
        child.join()
    if ready is None:  # not the image: the worker itself cannot start (see its error above)
        raise CurationError(f"a curate worker could not start ({_death(child.exitcode)})")
    if isinstance(result, SourceResult):
        return result
    return SourceResult(item[0], "failed", f"{item[1]}: quarantined, the curate worker "
                        f"{_death(child.exitcode)} on this image (in the pool and again alone)")


def _work_alone(send, args: tuple, item: tuple[str, str]) -> None:
    init_pool_worker(*args)
    send.send("ready")
    send.send(process_source(*item))
    send.close()


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = "; out of memory?" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {code}"
