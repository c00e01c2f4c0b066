"""app.data.promoted: the promoted model's pointer read once, its checkpoint with it."""

from __future__ import annotations

import json

from app import data
from studio.workspace import Workspace


def test_promoted_reads_the_pointer_once_and_refuses_a_damaged_or_dangling_one(tmp_path, monkeypatch):
    ws = Workspace.at(tmp_path)
    ckpt = ws.runs_dir / "00000-a" / "checkpoints" / "step-0000020"
    ckpt.mkdir(parents=True)
    (ckpt / "weights.safetensors").write_bytes(b"w")
    assert data.promoted(ws) is None  # nothing promoted
    ws.current_model.parent.mkdir(parents=True)
    pointer = {"run": "runs/00000-a", "checkpoint": "checkpoints/step-0000020", "promoted_at": "now"}
    ws.current_model.write_text(json.dumps(pointer))
    reads = []
    real = data.current
    monkeypatch.setattr(data, "current", lambda w: reads.append(w) or real(w))
    found = data.promoted(ws)
    assert found == data.Promoted(pointer, ckpt) and len(reads) == 1
    for bad in ({"run": 3, "checkpoint": "checkpoints/step-0000020"}, {"run": "runs/00000-a", "checkpoint": 7},
                {"run": "runs/00000-a", "checkpoint": "checkpoints/step-0000099"}):
        ws.current_model.write_text(json.dumps(bad))
        assert data.promoted(ws) is None, bad  # damaged, or its checkpoint gone: no TypeError
    ws.current_model.write_text("{")
    assert data.promoted(ws) is None
