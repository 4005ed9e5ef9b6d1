"""Online serving: feeds for SimNet users from the registry's models, with A/B arms.

- :class:`ServingConfig` (``config``): registry, experiment arms, ETL tables, features, limits.
- :class:`Assigner` (``experiments``): a user's arm from a hash of (experiment, user_id).
- :class:`ItemIndex` (``index``): exact top-k over item embeddings, growing with fresh items;
  ``positions``: item ids to index positions for a whole matrix of ids at once.
- :class:`SeenItems`, :class:`Popularity` (``signals``): what is learnt online from events.
- :class:`Catalogue` (``catalogue``): the items to rank, from the ETL and from create events.
- :class:`ModelSet` (``models``): the arms' models, swapped in from the registry without a gap.
- ``live``: the experiment in force with its arms' models, replaced whole when the arms change.
- :class:`Recommender` (``recommender``): all of the above; ``recommend``, ``observe``, ``set_experiment``.
- :func:`create_app` (``app``): the HTTP API; ``batcher`` batches concurrent requests; ``admin``
  is ``/admin/experiment``, the arms changed while serving.
- ``host`` opens the services for uvicorn; ``deployment`` serves the same app with Ray Serve.

See docs/serving.md.
"""

from components.registry.experiments import ArmConfig, ExperimentConfig
from components.serving.app import create_app
from components.serving.config import ServingConfig
from components.serving.experiments import Assigner
from components.serving.index import ItemIndex
from components.serving.recommender import Recommender, Slate

__all__ = [
    "ArmConfig",
    "Assigner",
    "ExperimentConfig",
    "ItemIndex",
    "Recommender",
    "ServingConfig",
    "Slate",
    "create_app",
]
