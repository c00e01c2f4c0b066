"""Near-duplicate search: multi-index hashing equals brute force; mirrors are found."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data

from curation.dedup import _brute_pairs, best_member, connected_groups, hamming_pairs
from curation.features import perceptual_hashes


def test_multi_index_search_equals_brute_force():
    rng = np.random.default_rng(3)
    h = rng.integers(0, 2**64, 5000, dtype=np.uint64)
    for k in range(0, 600, 2):  # plant pairs at distances 0..9
        bits = rng.choice(64, int(rng.integers(0, 10)), replace=False)
        h[k + 1] = h[k] ^ np.uint64(sum(1 << int(b) for b in bits))
    mirror = h[::-1].copy()
    for d in (0, 3, 6, 7):
        fast = hamming_pairs(h, [h, mirror], d)
        assert np.array_equal(fast, _brute_pairs(h, [h, mirror], d, 2))
        assert len(fast) > 0
    assert len(hamming_pairs(h, [h], 9)) == len(_brute_pairs(h, [h], 9, 2))


def test_mirror_and_reencoded_copies_hash_close_to_the_original():
    face = data.astronaut()[40:220, 150:330]
    buf = io.BytesIO()
    Image.fromarray(face).save(buf, "JPEG", quality=60)
    jpeg = np.asarray(Image.open(buf).convert("RGB"))
    a, b, m = perceptual_hashes(face), perceptual_hashes(jpeg), perceptual_hashes(face[:, ::-1].copy())
    dist = lambda x, y: bin(x ^ y).count("1")  # noqa: E731
    assert dist(a["phash"], b["phash"]) <= 6
    assert dist(a["phash_flip"], m["phash"]) <= 6  # the mirror matches through the flipped hash
    other = perceptual_hashes(data.chelsea()[50:230, 100:280])
    assert dist(a["phash"], other["phash"]) > 12


def test_groups_and_the_kept_member():
    assert sorted(map(sorted, connected_groups(6, [(0, 1), (1, 2), (4, 5)]))) == [[0, 1, 2], [4, 5]]
    face_px, quality = [100, 120, 120, 50], [1.0, 2.0, 3.0, 9.0]
    assert best_member([0, 1, 2, 3], face_px, quality) == 2  # largest face, then quality
    assert best_member([0, 1, 2, 3], face_px, quality, [True, True, False, True]) == 1
