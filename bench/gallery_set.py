"""The source-split benchmark set of bench/curation_quality.py: real drawn art from five sources,
each face in several realistic degradations, and the pollution an anime crawl lets through.

Good faces, by source (the unit a threshold may be chosen on, or held back from):
  renpy        Ren'Py's MIT sprites (Debian's renpy-thequestion / renpy-demo) on backgrounds
  lilynovel    shared/art/lilynovelplayer: visual-novel busts and standing sprites (MIT)
  easyrpg      shared/art/easyrpg-facesets: 48-px RPG faces, each tile on its own (CC0)
  peppercarrot shared/art/peppercarrot: painted and pencil webcomic art (CC BY)
  generated    anime-like faces drawn by tests/fixtures/anime_scenes on generated illustrations
Every good picture appears as served and degraded (`DEGRADATIONS`): JPEG at quality 40–95; faces
downscaled to 48–96 px then upscaled ×2–×4 (bicubic, JPEG 85); lightly blurred; noisy; and
composited on a photographed backdrop where the art has an alpha channel.

Pollution, by kind: `person` and `masked` (photos of people: lfw faces in photos, with and
without a mask), `cat` (photos of chelsea), `photo` (parts of other photographs), `blurred`
(defocused drawn faces in sharp pictures), `drawn_animal` (the animal tiles of EasyRPG's
People2 sheet, and its monster sheet), `nonface` (the cascade's false hits on cloth and
ornaments in the painted art), `false_detection` (any other hit of the cascade). The cascade
fires on few photos, so polluting faces are cropped at their planted box as if it had
(`Scene.planted`). No photo of a dog exists offline here: the drawn dog and the photos of
cats stand in for them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE), str(HERE / "bench")]

import anime_set  # noqa: E402

from tests.fixtures import anime_scenes as an  # noqa: E402
from tests.fixtures import face_scenes as fs  # noqa: E402

ART = HERE.parent / "shared" / "art"
GOOD = "anime"
AMBIGUOUS = "ambiguous"  # neither counted as good nor as pollution (e.g. a humanoid monster)
SOURCES = ("renpy", "lilynovel", "easyrpg", "peppercarrot", "generated")
DEGRADATIONS = ("clean", "jpeg", "upscaled", "soft", "noise", "backdrop")
# EasyRPG tiles (row, col) that are not human anime faces: People2's lower half are animals;
# the monster sheet is mostly monsters, with two human-looking faces and three in between.
EASYRPG_ANIMALS = {"People2": {(r, c) for r in (2, 3) for c in range(4)}}
EASYRPG_MONSTER_GOOD = {(2, 0), (2, 2)}
EASYRPG_MONSTER_AMBIGUOUS = {(0, 1), (1, 1), (3, 3)}
# The painted art's cascade hits on cloth and ornaments (shared/art/README.md), by file and box.
PEPPER_NONFACE = {("print_book/2015-09-15_witches-of-chaosah-family_by-David-Revoy.jpg", 836),
                  ("print_book/2016-05-28_pepper-and-carrot_fixing-the-project_by-David-Revoy.jpg", 398),
                  ("print_book/2016-05-28_pepper-and-carrot_fixing-the-project_by-David-Revoy.jpg", 1647)}


@dataclass
class Scene:
    name: str
    rgb: np.ndarray
    source: str  # a good source of SOURCES, or "pollution"
    faces: list[tuple[str, tuple[int, int, int, int], str]] = field(default_factory=list)
    default: str = "false_detection"  # the kind of a detection that overlaps no planted face
    fmt: str = "PNG"
    quality: int = 95  # JPEG quality when fmt is JPEG
    degradation: str = "clean"
    rgba: np.ndarray | None = None  # the art's own alpha, for the backdrop variant
    planted: bool = False  # crop the planted faces even where the cascade misses them


def _art(rel: str) -> tuple[np.ndarray, np.ndarray | None]:
    img = Image.open(ART / rel)
    rgba = np.asarray(img.convert("RGBA"))
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    white = an.composite(np.full((*rgba.shape[:2], 3), 255, np.uint8), rgba, 0, 0)
    return white, (rgba if has_alpha and rgba[..., 3].min() < 250 else None)


def _detections() -> dict:
    return json.loads((ART / "lbp_detections.json").read_text())


def lilynovel_scenes() -> list[Scene]:
    out = []
    for rel, hit in _detections().items():
        if rel.startswith("lilynovelplayer/") and hit["faces"]:
            rgb, rgba = _art(rel)
            stem = Path(rel).stem
            out.append(Scene(f"lily-{stem}", rgb, "lilynovel", rgba=rgba,
                             faces=[(GOOD, tuple(f), f"lily-{stem.removesuffix('_g')}")
                                    for f in hit["faces"]]))
    return out


def peppercarrot_scenes() -> list[Scene]:
    out = []
    for rel, hit in _detections().items():
        if rel.startswith("peppercarrot/") and hit["faces"]:
            rgb, rgba = _art(rel)
            sub = rel.removeprefix("peppercarrot/")
            faces = [("nonface" if (sub, f[0]) in PEPPER_NONFACE else GOOD, tuple(f),
                      f"pepper-{Path(rel).stem}-{f[0]}") for f in hit["faces"]]
            out.append(Scene(f"pepper-{Path(rel).stem}", rgb, "peppercarrot", faces, rgba=rgba,
                             fmt="JPEG" if rel.endswith(".jpg") else "PNG"))
    return out


def easyrpg_scenes(rng: np.random.Generator) -> list[Scene]:
    """Each 48-px tile alone, enlarged ×3–×4 as a gallery shows pixel art, on a flat margin."""
    out = []
    for path in sorted((ART / "easyrpg-facesets" / "FaceSet").glob("*.png")):
        sheet = np.asarray(Image.open(path).convert("RGB"))
        for r in range(4):
            for c in range(4):
                tile = sheet[48 * r:48 * r + 48, 48 * c:48 * c + 48]
                k = int(rng.integers(3, 5))
                big = cv2.resize(tile, (48 * k, 48 * k), interpolation=cv2.INTER_NEAREST)
                pad = 24 * k
                img = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                         value=tuple(int(v) for v in tile[0, 0]))
                kind = _easyrpg_kind(path.stem, (r, c))
                box = (pad + 4 * k, pad + 4 * k, 40 * k, 40 * k)
                out.append(Scene(f"easyrpg-{path.stem}-{r}{c}", img,
                                 "easyrpg" if kind == GOOD else "pollution",
                                 [(kind, box, f"easyrpg-{path.stem}-{r}{c}")], default=kind,
                                 planted=kind != GOOD))
    return out


def _easyrpg_kind(sheet: str, cell: tuple[int, int]) -> str:
    if sheet == "Monster":
        if cell in EASYRPG_MONSTER_GOOD:
            return GOOD
        return AMBIGUOUS if cell in EASYRPG_MONSTER_AMBIGUOUS else "drawn_animal"
    return "drawn_animal" if cell in EASYRPG_ANIMALS.get(sheet, ()) else GOOD


def renpy_scenes(detect, rng: np.random.Generator) -> list[Scene]:
    """One clean picture per sprite (on a drawn illustration) and the demo's concert art; the
    sprites keep their alpha for the backdrop variant."""
    sprites = an.renpy_sprites()
    boxes = anime_set._sprite_face_boxes(detect, sprites)
    out = []
    for name, rgba in sprites.items():
        if name not in boxes:
            continue
        bg = an.illustration(rng, max(720, rgba.shape[0] + 40), max(720, rgba.shape[1] + 40))
        x, y = (bg.shape[1] - rgba.shape[1]) // 2, bg.shape[0] - rgba.shape[0]
        fx, fy, fw, fh = boxes[name]
        out.append(Scene(f"renpy-{name}".replace(" ", "_"), an.composite(bg, rgba, x, y), "renpy",
                         [(GOOD, (x + fx, y + fy, fw, fh), f"renpy-{name}")],
                         rgba=_placed(rgba, bg.shape, x, y)))
    for name, img in an.renpy_concerts().items():
        faces = [(GOOD, (f.x, f.y, f.w, f.h), f"{name}-{i}") for i, f in enumerate(detect(img))]
        out.append(Scene(f"renpy-{name}", img, "renpy", faces))
    return out


def _placed(rgba: np.ndarray, shape, x: int, y: int) -> np.ndarray:
    """`rgba` on a transparent canvas of the picture's size (the backdrop variant's layer)."""
    canvas = np.zeros((*shape[:2], 4), np.uint8)
    canvas[y:y + rgba.shape[0], x:x + rgba.shape[1]] = rgba
    return canvas


def generated_scenes(rng: np.random.Generator, n: int) -> list[Scene]:
    return [Scene(s.name, s.rgb, "generated", s.faces) for s in anime_set.drawn_scenes(rng, n)]


CHELSEA_FACE = (105, 30, 240, 240)  # the cat's face in skimage's chelsea (x, y, w, h)


def pollution_scenes(detect, rng: np.random.Generator, per_kind: int) -> list[Scene]:
    """`per_kind` pictures of each kind whose polluting face is planted at a known box: the anime
    cascade fires on few photos (about 1 in 100 zooms with a person), so these crops are cut at
    the planted box as if it had (`planted`), besides whatever the cascade finds itself.
    Photos are served as JPEG; the defocused drawn faces come from anime_set."""
    photos = an.photos()
    others = [rgb for rgb, kind in photos.values() if kind == "other"]
    out = []
    for i in range(per_kind):
        for kind in ("person", "masked"):
            side = int(rng.integers(220, 340))
            img = an.zoomed(others[int(rng.integers(0, len(others)))], rng, out=side)
            size = int(rng.integers(70, min(160, side - 10)))
            x, y = int(rng.integers(0, side - size)), int(rng.integers(0, side - size))
            face = an.lfw_person(int(rng.integers(0, 100)), size, rng)
            fs.paste(img, fs.mask_face(face) if kind == "masked" else face, x, y)
            out.append(Scene(f"{kind}{i}", img, "pollution", [(kind, (x, y, size, size), f"{kind}{i}")],
                             kind, "JPEG", int(rng.integers(70, 95)), planted=True))
        cat, box = _cat_zoom(photos["chelsea"][0], rng)
        out.append(Scene(f"cat{i}", cat, "pollution", [("cat", box, f"cat{i}")], "cat", "JPEG",
                         int(rng.integers(70, 95)), planted=True))
        side = int(rng.integers(220, 340))
        img = an.zoomed(others[int(rng.integers(0, len(others)))], rng, out=side)
        size = int(rng.integers(70, side // 2))
        x, y = int(rng.integers(0, side - size)), int(rng.integers(0, side - size))
        out.append(Scene(f"photo{i}", img, "pollution", [("photo", (x, y, size, size), f"photo{i}")],
                         "photo", "JPEG", int(rng.integers(70, 95)), planted=True))
    for s in anime_set.blurred_scenes(detect, rng, per_kind):
        out.append(Scene(s.name, s.rgb, "pollution", s.faces, s.default, "JPEG", 90, planted=True))
    return out


def _cat_zoom(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """chelsea scaled 0.5–1.0 on a photo-sized canvas of its own border colours, with its face box."""
    s = rng.uniform(0.5, 1.0)
    cat = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    pad = int(rng.integers(10, 60))
    img = cv2.copyMakeBorder(cat, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    x, y, w, h = CHELSEA_FACE
    return img, (pad + int(x * s), pad + int(y * s), int(w * s), int(h * s))


def degrade(scene: Scene, how: str, rng: np.random.Generator, backdrops: list[np.ndarray]) -> Scene | None:
    """`scene` as a messy gallery serves it; None where the degradation does not apply."""
    if how == "clean":
        return scene
    name = f"{scene.name}~{how}"
    if how == "jpeg":
        return replace(scene, name=name, fmt="JPEG", quality=int(rng.integers(40, 96)), degradation=how)
    if how == "upscaled":
        good = [f for f in scene.faces if f[0] == GOOD] or scene.faces
        side = max(max(b[2], b[3]) for _, b, _ in good)
        down = min(1.0, rng.uniform(48, 96) / side)
        up = int(rng.integers(2, 5))
        if down * up >= 1.5:  # not a degradation where the face ends up larger than served
            down = 1.5 / up
        h, w = scene.rgb.shape[:2]
        small = cv2.resize(scene.rgb, (max(1, round(w * down)), max(1, round(h * down))),
                           interpolation=cv2.INTER_AREA)
        big = cv2.resize(small, (small.shape[1] * up, small.shape[0] * up), interpolation=cv2.INTER_CUBIC)
        s = small.shape[1] * up / w
        faces = [(k, tuple(round(v * s) for v in b), i) for k, b, i in scene.faces]
        return replace(scene, name=name, rgb=big, faces=faces, fmt="JPEG", quality=85,
                       degradation=how, rgba=None)
    if how == "soft":
        rgb = cv2.GaussianBlur(scene.rgb, (0, 0), rng.uniform(0.7, 1.4))
        return replace(scene, name=name, rgb=rgb, fmt="JPEG", quality=90, degradation=how)
    if how == "noise":
        noisy = scene.rgb + rng.normal(0, rng.uniform(3, 8), scene.rgb.shape)
        return replace(scene, name=name, rgb=np.clip(noisy, 0, 255).astype(np.uint8), fmt="JPEG",
                       quality=92, degradation=how)
    if how == "backdrop":
        if scene.rgba is None:
            return None
        h, w = scene.rgba.shape[:2]
        bg = backdrops[int(rng.integers(0, len(backdrops)))]
        bg = cv2.resize(an.zoomed(bg, rng, out=max(h, w)), (w, h), interpolation=cv2.INTER_AREA)
        return replace(scene, name=name, rgb=an.composite(bg, scene.rgba, 0, 0), fmt="JPEG",
                       quality=88, degradation=how)
    raise ValueError(how)


def build(detect, seed: int = 0, n_generated: int = 40, per_kind: int = 40) -> list[Scene]:
    """Every scene: each good picture in every degradation, then the pollution."""
    rng = np.random.default_rng(seed)
    originals = (renpy_scenes(detect, rng) + lilynovel_scenes() + easyrpg_scenes(rng)
                 + peppercarrot_scenes() + generated_scenes(rng, n_generated))
    backdrops = [rgb for rgb, kind in an.photos().values() if kind == "other"]
    out = []
    for scene in originals:
        for how in DEGRADATIONS if scene.source != "pollution" else ("clean", "jpeg"):
            variant = degrade(scene, how, rng, backdrops)
            if variant is not None:
                out.append(variant)
    return out + pollution_scenes(detect, rng, per_kind)


def truth_of(scene: Scene, bbox) -> tuple[str, str]:
    """(kind, identity) of a detection: the planted face it overlaps, else the scene's default."""
    best = max(scene.faces, key=lambda f: fs.iou(f[1], bbox), default=None)
    if best is not None and fs.iou(best[1], bbox) > 0.3:
        return best[0], best[2]
    return scene.default, f"{scene.name}:{tuple(bbox)}"
