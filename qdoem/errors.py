"""Exceptions raised by qdoem. All are ``ValueError`` subclasses, so callers can catch either."""


class InvalidDensityOperatorError(ValueError):
    """An array that should be a density operator is not one.

    The message names the argument, the property that failed (shape, finite entries,
    Hermiticity, positivity, unit trace) and by how much.
    """


class InvalidDimensionsError(ValueError):
    """Subsystem dimensions that do not match an operator, or a bad ``keep`` list."""


class PetzNotGuaranteedWarning(UserWarning):
    """The model breaks Condition S, so the Petz E-step need not saturate the QELBO.

    DO-EM's monotone-likelihood guarantee holds for CQ-LVMs (classical data, no X or Y
    terms on visible qubits). Outside that class the algorithm still runs, but the
    likelihood may decrease.
    """
