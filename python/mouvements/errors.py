"""The exceptions of mouvements: one hierarchy under :class:`MouvementsError`.

Each carries the message the ``mouvements-gen`` command prints, with the advice in Python's
words (``mode="overwrite"`` where the command says ``--overwrite``). A dataset that fails
verification is not an exception: :func:`mouvements.verify` returns a report whose
``passed`` is ``False``. Ctrl-C (or a notebook's interrupt) raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

__all__ = [
    "MouvementsError",
    "ArgumentError",
    "DatasetExistsError",
    "RunConflictError",
    "StorageError",
    "CorruptDatasetError",
]


class MouvementsError(Exception):
    """Anything mouvements refuses or fails at."""


class ArgumentError(MouvementsError, ValueError):
    """A bad argument: the message names the keyword and what it accepts."""


class DatasetExistsError(MouvementsError):
    """The lake already holds a dataset: pass ``mode="overwrite"`` or ``mode="resume"``."""


class RunConflictError(MouvementsError):
    """Another run claims the lake, or a task of this run was given other settings."""


class StorageError(MouvementsError):
    """The lake could not be reached, read or written: access, credentials, network."""


class CorruptDatasetError(MouvementsError):
    """The lake's manifest or markers are damaged, or were written by another version."""
