"""TinyWorld's control plane: settings, pipelines, local runtime, deployment and the CLI.

The package lives at ``platform/tinyworld/`` (``platform`` itself is never a package: it would
shadow the standard library module of that name).
"""

from importlib import metadata

__version__ = metadata.version("tinyworld")
"""The distribution's version, from pyproject.toml (its one owner) through the package metadata."""
