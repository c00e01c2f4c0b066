"""gan/ runs on a GPU machine that has only torch, torchvision, numpy and Pillow (docs/architecture.md).

A child interpreter refuses to import anything of the studio or its other dependencies, imports
every gan module and trains two steps: a forbidden import anywhere on that path fails the test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

GAN = Path(__file__).resolve().parents[2] / "gan"
FORBIDDEN = ["studio", "crawler", "curation", "app", "scrapy", "fiftyone", "streamlit", "cv2",
             "imagehash", "typer", "rich", "tqdm", "sklearn", "skimage", "apscheduler", "twisted"]


def test_gan_imports_and_trains_without_the_rest_of_the_studio(tmp_path):
    modules = sorted(f"gan.{p.stem}" for p in GAN.glob("*.py") if p.stem != "__init__")
    script = textwrap.dedent(
        f"""
        import importlib, importlib.abc, importlib.util, sys
        FORBIDDEN = {FORBIDDEN!r}

        class Refuse(importlib.abc.MetaPathFinder, importlib.abc.Loader):
            # Found (torch probes optional packages with find_spec), but importing it fails.
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in FORBIDDEN:
                    return importlib.util.spec_from_loader(name, self)

            def create_module(self, spec):
                raise ImportError(f"gan/ must not import {{spec.name}}")

            def exec_module(self, module):
                pass

        sys.meta_path.insert(0, Refuse())
        for m in {modules!r}:
            importlib.import_module(m)

        import numpy as np
        from PIL import Image
        from gan.config import TrainConfig
        from gan.train import train
        data = {str(tmp_path / "data")!r}
        import os; os.makedirs(data)
        rng = np.random.default_rng(0)
        for i in range(8):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(f"{{data}}/{{i}}.png")
        cfg = TrainConfig(resolution=32, steps=2, batch=4, g_width=8, d_width=8, device="cpu",
                          metric_every=0, metric_images=16, sample_every=2, ckpt_every=2)
        result = train(cfg, data, {str(tmp_path / "run")!r})
        print("trained", result.step)
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "trained 2" in r.stdout
