"""The feature store's errors: each says what is wrong and what to run to fix it.

All derive from :class:`FeatureStoreError` (a ``ValueError``), so a command line can catch one type
and print the message.
"""

from __future__ import annotations


class FeatureStoreError(ValueError):
    """Something the caller can fix: missing inputs, an unknown name, a repository not yet applied."""


class MissingEtlOutputError(FeatureStoreError):
    """The ETL's feature tables are absent, empty or lack columns the feature views need."""


class UnknownEntityError(FeatureStoreError):
    """An entity (or feature view) name that the repository does not define."""


class NotAppliedError(FeatureStoreError):
    """The repository has no registry yet, or the registry lacks the repository's views."""


class EntityFrameError(FeatureStoreError):
    """An entity frame for a training set lacks a column or holds unusable values."""


class DefinitionsError(FeatureStoreError):
    """The repository's ``definitions.py`` is missing or does not declare what is needed."""
