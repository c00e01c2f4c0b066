"""The anime-style labelled set of bench/curation_quality.py: scenes with the truth of every
face in them, written as the crawler writes raw/ (PNG for drawn art, JPEG for photos).

Good faces: Ren'Py sprites (real anime art) on drawn and photographed backgrounds, scaled and
mirrored; the demo's concert illustrations; anime-like faces drawn on generated illustrations.
Pollution, by kind: `person` (photos of people: the astronaut, lfw faces in photos), `cat`
(chelsea), `photo` (other photographs), `blurred` (defocused anime faces in sharp scenes).
Photos are random zooms; only those the anime detector fires on yield crops at all.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE)]

from tests.fixtures import anime_scenes as an  # noqa: E402
from tests.fixtures import face_scenes as fs  # noqa: E402

GOOD = "anime"


@dataclass
class Scene:
    name: str
    rgb: np.ndarray
    faces: list[tuple[str, tuple[int, int, int, int], str]] = field(default_factory=list)
    # (kind, box, identity) of the faces planted; detections elsewhere are `default` kind
    default: str = "false_detection"  # what a detection that overlaps no planted face is
    fmt: str = "PNG"


def _sprite_face_boxes(detect, sprites: dict) -> dict[str, tuple[int, int, int, int]]:
    """Where the face is in each sprite (the cascade on the sprite over white; lucy mad: none)."""
    out = {}
    for name, rgba in sprites.items():
        white = an.composite(np.full((*rgba.shape[:2], 3), 255, np.uint8), rgba, 0, 0)
        faces = detect(white)
        if faces:
            f = max(faces, key=lambda f: f.w)
            out[name] = (f.x, f.y, f.w, f.h)
    return out


def sprite_scenes(detect, rng: np.random.Generator, per_sprite: int = 5) -> list[Scene]:
    sprites = an.renpy_sprites()
    boxes = _sprite_face_boxes(detect, sprites)
    bgs = an.renpy_backgrounds()
    out = []
    for name, rgba in sprites.items():
        if name not in boxes:
            continue
        for k in range(per_sprite):
            bg_name = list(bgs)[int(rng.integers(0, len(bgs)))] if k else None
            bg = (an.illustration(rng, 720, 1280) if bg_name is None else bgs[bg_name][0])
            s = rng.uniform(0.45, 1.0)
            sprite = an.scale_rgba(rgba, s)
            mirror = rng.random() < 0.5
            if mirror:
                sprite = sprite[:, ::-1].copy()
            x = int(rng.integers(0, bg.shape[1] - sprite.shape[1]))
            y = int(rng.integers(0, max(1, bg.shape[0] - sprite.shape[0])))
            fx, fy, fw, fh = (int(v * s) for v in boxes[name])
            if mirror:
                fx = sprite.shape[1] - fx - fw
            img = an.composite(bg, sprite, x, y)
            ident = f"{name}{'-m' if mirror else ''}"
            out.append(Scene(f"sprite-{name}-{k}".replace(" ", "_"), img,
                             [(GOOD, (x + fx, y + fy, fw, fh), ident)],
                             fmt="JPEG" if bg_name and bgs[bg_name][1] else "PNG"))
    for name, img in an.renpy_concerts().items():
        faces = [(GOOD, (f.x, f.y, f.w, f.h), f"{name}-{i}") for i, f in enumerate(detect(img))]
        out.append(Scene(name, img, faces))
    return out


def drawn_scenes(rng: np.random.Generator, n: int) -> list[Scene]:
    out = []
    for i in range(n):
        img = an.illustration(rng, 400, 480)
        planted = []
        for j in range(1 + int(rng.random() < 0.3)):
            size = int(rng.integers(100, 170))
            fig = an.with_body(an.drawn_face(rng, size), rng)
            x = 20 + j * 240 + int(rng.integers(0, 480 - 260 - size)) if j == 0 else 250
            y = int(rng.integers(0, 400 - size))
            img = an.composite(img, fig, x, y)
            m = int(size * 0.15)  # the face fills the middle 70 % of the drawn patch
            planted.append((GOOD, (x + m, y + m, size - 2 * m, size - 2 * m), f"drawn{i}-{j}"))
        out.append(Scene(f"drawn{i}", img, planted))
    return out


def blurred_scenes(detect, rng: np.random.Generator, n: int) -> list[Scene]:
    """Defocused anime faces (sigma 2.5-6 px at face sizes of 100-200 px) in sharp scenes."""
    sprites = an.renpy_sprites()
    boxes = _sprite_face_boxes(detect, sprites)
    names = [k for k in sprites if k in boxes]
    out = []
    for i in range(n):
        sigma = rng.uniform(2.5, 6.0)
        if i % 2:
            name = names[int(rng.integers(0, len(names)))]
            s = rng.uniform(0.5, 1.0)
            fig = an.blur_rgba(an.scale_rgba(sprites[name], s), sigma)
            box = tuple(int(v * s) for v in boxes[name])
            bg = an.illustration(rng, 720, 960)
        else:
            size = int(rng.integers(110, 170))
            fig = an.blur_rgba(an.with_body(an.drawn_face(rng, size), rng), sigma)
            m = int(size * 0.15)
            box = (m, m, size - 2 * m, size - 2 * m)
            bg = an.illustration(rng, 420, 520)
        x = int(rng.integers(0, bg.shape[1] - fig.shape[1]))
        y = int(rng.integers(0, max(1, bg.shape[0] - fig.shape[0])))
        img = an.composite(bg, fig, x, y)
        out.append(Scene(f"blurred{i}", img, [("blurred", (x + box[0], y + box[1], *box[2:]),
                                                f"blurred{i}")], default="blurred"))
    return out


def photo_scenes(detect, rng: np.random.Generator, trials: int, keep_silent: int = 20) -> list[Scene]:
    """Zoomed parts of real photos, half with an lfw face pasted in (people in photographs).
    The anime cascade fires on few photos (on 0 of 1,400 zooms without a person, on ~5 % of
    those with an lfw face), so of `trials` candidates only those it fires on are kept, plus
    `keep_silent` it does not fire on (they yield no crop, as in a crawl)."""
    photos = an.photos()
    names = list(photos)
    out, silent = [], 0
    for i in range(trials):
        name = names[int(rng.integers(0, len(names)))]
        rgb, kind = photos[name]
        side = int(rng.integers(220, 340))
        img = an.zoomed(rgb, rng, out=side)
        scene = Scene(f"photo-{name}-{i}", img, default=kind, fmt="JPEG")
        if i % 2 == 0:
            size = int(rng.integers(70, min(160, side - 10)))
            x, y = int(rng.integers(0, side - size)), int(rng.integers(0, side - size))
            fs.paste(img, an.lfw_person(int(rng.integers(0, 100)), size, rng), x, y)
            scene.faces.append(("person", (x, y, size, size), f"lfw{i}"))
        if detect(img):
            out.append(scene)
        elif silent < keep_silent:
            silent += 1
            out.append(scene)
    return out


def build(detect, seed: int = 0, n_drawn: int = 120, n_blurred: int = 40,
          photo_trials: int = 2400) -> list[Scene]:
    rng = np.random.default_rng(seed)
    return (sprite_scenes(detect, rng) + drawn_scenes(rng, n_drawn)
            + blurred_scenes(detect, rng, n_blurred) + photo_scenes(detect, rng, photo_trials))


def truth_of(scene: Scene, bbox) -> tuple[str, str]:
    """(kind, identity) of a detection: the planted face it overlaps, else the scene's default."""
    best = max(scene.faces, key=lambda f: fs.iou(f[1], bbox), default=None)
    if best is not None and fs.iou(best[1], bbox) > 0.3:
        return best[0], best[2]
    return scene.default, f"{scene.name}:{tuple(bbox)}"
