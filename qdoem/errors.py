"""Exceptions and warnings raised by qdoem.

Every error qdoem raises on purpose is a :class:`QdoemError`. Those about bad input are also
``ValueError`` subclasses (the Python convention), so callers can catch either. The messages
name the field, the value and, for files, the path.
"""

from typing import Any


class QdoemError(Exception):
    """Base class of qdoem's errors. The CLI prints one on one line and exits 2."""


class ConfigError(QdoemError, ValueError):
    """A setting (config file key, flag, constructor argument) with a bad name, type or value."""


class CheckpointError(QdoemError, ValueError):
    """A run directory or checkpoint that cannot be used: corrupt, truncated, non-finite, or
    written for another model, size or version. The message names the file."""


class DataError(QdoemError, ValueError):
    """A dataset that cannot be used as asked: files present but truncated or corrupt, or a
    split the dataset does not have. The message names the dataset, the split or the folder."""


class DivergenceError(QdoemError, ArithmeticError):
    """Training produced NaN or inf in a gradient or a parameter; the run was stopped before
    the bad values reached a checkpoint."""


class BackendError(QdoemError, RuntimeError):
    """A backend job kept failing (error, time-out, cancellation) after its bounded retries."""


class InvalidDensityOperatorError(QdoemError, ValueError):
    """An array that should be a density operator is not one.

    The message names the argument, the property that failed (shape, finite entries,
    Hermiticity, positivity, unit trace) and by how much.
    """


class InvalidDimensionsError(QdoemError, ValueError):
    """Subsystem dimensions that do not match an operator, or a bad ``keep`` list."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on request (Ctrl-C, SIGTERM) at a step boundary, after writing a
    checkpoint it can resume from exactly.

    Attributes
    ----------
    signum : int or None
        The signal that asked for the stop, if any.
    """

    def __init__(self, message: str = "training interrupted", signum: int | None = None):
        super().__init__(message)
        self.signum = signum


class CheckpointFallbackWarning(UserWarning):
    """The newest checkpoint was unreadable; the previous one was used instead."""


class PetzNotGuaranteedWarning(UserWarning):
    """The model breaks Condition S, so the Petz E-step need not saturate the QELBO.

    DO-EM's monotone-likelihood guarantee holds for CQ-LVMs (classical data, no X or Y
    terms on visible qubits). Outside that class the algorithm still runs, but the
    likelihood may decrease.
    """


class FeatureExtractorError(QdoemError, OSError):
    """An FID feature extractor that cannot be had: the Inception weights are missing and
    cannot be downloaded, or a cached domain classifier fails its checksum. The message names
    the file, the folder and what to do."""


def check_int(
    name: str, value: Any, minimum: int = 0, *, error: type[Exception] = ValueError
) -> int:
    """Return ``value`` if it is an int ``>= minimum``, else raise ``error`` naming it.

    ``bool`` is rejected although it subclasses ``int`` (``True`` is no count), and so are
    floats, even integral ones (``2.0``).

    Parameters
    ----------
    name : str
        The field's name, as the message should show it.
    value : Any
        The value to check.
    minimum : int, default 0
        The least value allowed.
    error : type of Exception, default ValueError
        The class raised (e.g. :class:`ConfigError` for a setting).

    Returns
    -------
    int
        ``value``, unchanged.

    Raises
    ------
    error
        "{name} must be a positive int, got {value!r}" when ``minimum == 1``, else
        "{name} must be an int >= {minimum}, got {value!r}".
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        if minimum == 1:
            raise error(f"{name} must be a positive int, got {value!r}")
        raise error(f"{name} must be an int >= {minimum}, got {value!r}")
    return value
