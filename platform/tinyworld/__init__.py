"""TinyWorld's control plane: settings, pipelines, local runtime, deployment and the CLI.

The package lives at ``platform/tinyworld/`` (``platform`` itself is never a package: it would
shadow the standard library module of that name).
"""

__version__ = "0.1.0"
