"""The one container image every step runs in, named once for every pipeline component."""

from __future__ import annotations

from tinyworld import __version__

IMAGE_REPOSITORY = "tinyworld"
"""The image's repository; the chart and ``make image`` tag it with the package version."""

IMAGE = f"{IMAGE_REPOSITORY}:{__version__}"
"""The base image of every KFP component: steps, serving and SimNet share it."""

IMAGE_SOURCE_ROOT = "/app"
"""Where the image holds the source tree (its WORKDIR, installed in editable mode; a test checks the Dockerfile)."""
