"""A detector plug-in (`--detector tests.curation.killer_detector:factory`) that SIGKILLs its own
worker process on one specific image (the one POISON_SIZE wide and high) and otherwise detects
like `human`: what an OOM kill or a native crash on one image looks like to curate."""

from __future__ import annotations

import os
import signal

from curation.detectors import human_detector

POISON_SIZE = (222, 333)  # (height, width) of the image that kills the worker


def factory(cascade=None):
    human = human_detector(cascade)

    def detect(rgb):
        if rgb.shape[:2] == POISON_SIZE:
            os.kill(os.getpid(), signal.SIGKILL)
        return human(rgb)

    return detect
