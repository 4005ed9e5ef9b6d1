"""The closed loop behind ``tinyworld up`` and ``make run``: SimNet lives, the platform learns every night.

- :mod:`~tinyworld.loop.run`: the days and nights (:func:`~tinyworld.loop.run.up`).
- :mod:`~tinyworld.loop.platform`: the local platform (``tinyworld serve``) in a child process.
- :mod:`~tinyworld.loop.nights`: a night's ``promote`` and ``daily`` pipelines under kfp.local.
- :mod:`~tinyworld.loop.peers`: SimNet's reference policies on the same days and seed.
- :mod:`~tinyworld.loop.state`: a run's folder and its state, for ``--resume``.
- :mod:`~tinyworld.loop.report`: ``result.json`` and ``report.html``.
"""
