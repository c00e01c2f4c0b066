"""The Inception network of FID/KID, built from a weights file without unpickling any code.

torch-fidelity's own extractor reads `feature_extractor_weights_path` with
`torch.load(weights_only=False)`, so a crafted file runs code. Here the file is read as
safetensors, or by `torch.load(weights_only=True)` (plain tensors and containers only), and the
tensors are handed to a subclass of torch-fidelity's InceptionV3 registered as
`studio-inception-v3`. The usual file is torch-fidelity's release asset (docs/training.md):

    https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth
    95,628,359 bytes, sha256 6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch

from gan.errors import GanError

EXTRACTOR = "studio-inception-v3"
OFFICIAL_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
_NO_STATE = io.BytesIO()
torch.save({}, _NO_STATE)  # what the parent constructor unpickles: our own empty dict
_EMPTY = _NO_STATE.getvalue()


def load_inception_weights(path: Path | str) -> dict[str, torch.Tensor]:
    """The state dict in `path` (safetensors, or a torch file of plain tensors); GanError else."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
        if path.suffix == ".safetensors" or (len(head) >= 9 and head[8:9] == b"{"):
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # OSError, UnpicklingError, SafetensorError, RuntimeError, ...
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        kind = "refused to unpickle it" if isinstance(exc, pickle.UnpicklingError) else "unreadable"
        raise GanError(f"Inception weights {path}: {kind} ({type(exc).__name__}: {first})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GanError(f"Inception weights {path}: not a state dict of tensors")
    return state


def inception_class(state: dict[str, torch.Tensor] | None):
    """torch-fidelity's InceptionV3 with `state` as its weights (None: its random init, for tests)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class SafeInceptionV3(FeatureExtractorInceptionV3):
        def __init__(self, name, features_list, **kwargs):
            kwargs["feature_extractor_weights_path"] = io.BytesIO(_EMPTY)  # never the user's file
            super().__init__(name, features_list, **kwargs)

        def load_state_dict(self, _unused, strict: bool = True, assign: bool = False):
            if state is None:
                return None
            return super().load_state_dict(state, strict=strict, assign=assign)

    return SafeInceptionV3


def register(state: dict[str, torch.Tensor] | None) -> str:
    """Make `state` the weights of the `studio-inception-v3` extractor; returns that name."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    FEATURE_EXTRACTORS_REGISTRY[EXTRACTOR] = inception_class(state)  # re-registered per evaluation
    return EXTRACTOR


def random_inception_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights of the same shapes, randomly initialised: FID/KID tests that need no download."""
    torch.manual_seed(seed)
    net = inception_class(None)("x", ["2048"])
    for m in net.modules():  # He init keeps activations alive through the 94 conv layers
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return {k: v.clone() for k, v in net.state_dict().items()}
