"""Physical qubits for the latent units, chosen from a device's calibration data.

Each latent unit needs a measured system qubit and an ancilla that shares a two-qubit gate with
it (:mod:`circuits.unit`). On a device, the unit's measured ``<n>`` carries the readout error of
its system qubit (a readout flip probability ``e`` moves ``<n>`` to ``e + (1 - 2e) <n>``), the
error of the one entangling gate, and those of a few single-qubit gates. So every directed
coupling ``anc -> sys`` of the device gets the cost

``cost = e_readout(sys) + e_2q(anc, sys) + e_1q(sys) + e_1q(anc)``

(first-order error probabilities, summed), and pairs are taken greedily by increasing cost,
never reusing a qubit. The default number of units per circuit keeps only the *good* pairs:
system readout error and two-qubit error both at most :data:`GOOD_FACTOR` times the device's
medians, so a qubit with an outlying readout error (26% on one of fake Sherbrooke's qubits, 50%
on another) is never used. Everything is read from ``backend.target``; nothing is measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GOOD_FACTOR", "MAX_UNITS", "calibration_snapshot", "unit_pairs"]

#: A pair is "good" when its errors are at most this multiple of the device's medians.
GOOD_FACTOR = 1.5
#: Most units packed in one device circuit.
MAX_UNITS = 50


def _errors(target: Any) -> tuple[dict[int, float], dict[int, float], dict[tuple, tuple]]:
    """``(readout, one_qubit, two_qubit)`` errors of a target; missing values are absent.

    ``two_qubit`` maps an (unordered, sorted) edge to ``(gate name, error)``, the best gate
    of the edge in either direction.
    """
    readout: dict[int, float] = {}
    one: dict[int, float] = {}
    two: dict[tuple, tuple] = {}
    for name in target.operation_names:
        op = target.operation_from_name(name)
        if isinstance(op, type) or not hasattr(op, "num_qubits"):
            continue  # control flow and other variadic instructions
        props = target[name] or {}
        for qargs, p in props.items():
            if qargs is None or p is None or p.error is None:
                continue
            if name == "measure":
                readout[qargs[0]] = float(p.error)
            elif name == "sx":
                one[qargs[0]] = float(p.error)
            elif op.num_qubits == 2:
                edge = tuple(sorted(qargs))
                if edge not in two or p.error < two[edge][1]:
                    two[edge] = (name, float(p.error))
    return readout, one, two


def unit_pairs(backend: Any, units: int | None = None) -> list[tuple[int, int]] | None:
    """Disjoint ``(ancilla, system)`` physical-qubit pairs, best first.

    Parameters
    ----------
    backend : qiskit BackendV2
        A device or a fake one, whose ``target`` holds readout and gate errors.
    units : int, optional
        How many pairs to return; default: every *good* pair (see the module notes), at most
        :data:`MAX_UNITS`, at least one.

    Returns
    -------
    list of (int, int) or None
        None when the target has no readout or two-qubit errors (an ideal simulator): the
        transpiler's own layout is as good as any.

    Raises
    ------
    ValueError
        ``units`` is more than the disjoint pairs the device has.
    """
    target = getattr(backend, "target", None)
    if target is None:
        return None
    readout, one, two = _errors(target)
    if not readout or not two:
        return None
    candidates = []
    for (a, b), (_, e2) in two.items():
        for anc, sys in ((a, b), (b, a)):
            if sys in readout:
                cost = readout[sys] + e2 + one.get(sys, 0.0) + one.get(anc, 0.0)
                candidates.append((cost, anc, sys))
    used: set[int] = set()
    pairs = []
    for _, anc, sys in sorted(candidates):
        if anc not in used and sys not in used:
            pairs.append((anc, sys))
            used.update((anc, sys))
    if units is None:
        ro_max = GOOD_FACTOR * float(np.median(list(readout.values())))
        e2_max = GOOD_FACTOR * float(np.median([e for _, e in two.values()]))
        good = [
            (anc, sys)
            for anc, sys in pairs
            if readout[sys] <= ro_max and two[tuple(sorted((anc, sys)))][1] <= e2_max
        ]
        return (good or pairs[:1])[:MAX_UNITS]
    if units > len(pairs):
        raise ValueError(
            f"units_per_circuit={units}: {getattr(backend, 'name', 'the device')} has only "
            f"{len(pairs)} disjoint coupled qubit pairs"
        )
    return pairs[:units]


def calibration_snapshot(backend: Any, pairs: list[tuple[int, int]] | None) -> dict[str, Any]:
    """The calibration data of the qubits and couplings a layout uses, as plain JSON values.

    Returns ``{"source", "last_update", "qubits": {q: {readout_error, sx_error, t1_s, t2_s}},
    "couplings": [{"ancilla", "system", "gate", "error"}]}``; the date is the device
    properties' ``last_update_date`` where the backend has one.
    """
    target = getattr(backend, "target", None)
    snapshot: dict[str, Any] = {"source": "backend.target", "last_update": None}
    try:
        props = backend.properties()
        snapshot["last_update"] = str(props.last_update_date) if props is not None else None
    except Exception:  # BackendV2 without properties(), or a service that does not answer
        pass
    if target is None or not pairs:
        snapshot.update(qubits={}, couplings=[])
        return snapshot
    readout, one, two = _errors(target)
    qubit_props = getattr(target, "qubit_properties", None) or []
    qubits = {}
    for q in sorted({q for pair in pairs for q in pair}):
        qp = qubit_props[q] if q < len(qubit_props) else None
        qubits[str(q)] = {
            "readout_error": readout.get(q),
            "sx_error": one.get(q),
            "t1_s": getattr(qp, "t1", None),
            "t2_s": getattr(qp, "t2", None),
        }
    couplings = []
    for anc, sys in pairs:
        gate, error = two.get(tuple(sorted((anc, sys))), (None, None))
        couplings.append({"ancilla": anc, "system": sys, "gate": gate, "error": error})
    snapshot.update(qubits=qubits, couplings=couplings)
    return snapshot
