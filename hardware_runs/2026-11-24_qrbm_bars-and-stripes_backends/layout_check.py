"""The issue's failure and its fix: 4 units per circuit on fake Sherbrooke (local, noise model),
qubits chosen by the transpiler (as qdoem did before) or from the calibration data (now).

Run from a checkout: ``PYTHONPATH=$PWD python hardware_runs/<this folder>/layout_check.py``.
"""

import numpy as np

from backends.ibm import IBMBackend
from circuits.gibbs import gibbs_expectations

rng = np.random.default_rng(0)
c, gamma = rng.uniform(-4, 4, 8), rng.uniform(-2, 2, 8)
n_true, x_true = gibbs_expectations(c, gamma)
print("8 random units, 4 per circuit, 4000 shots, ibm:fake_sherbrooke, no mitigation")
for layout in ("transpiler", "calibration"):
    backend = IBMBackend("fake_sherbrooke", units_per_circuit=4, layout=layout, seed=0)
    target = backend.backend.target
    readout = {q: round(target["measure"][(q,)].error, 3) for q in backend.measured_qubits()}
    res = backend.estimate(c, gamma, shots=4000)
    z = (res.n - n_true) / res.n_stderr
    print(
        f"layout {layout:<11}: measured qubits and readout errors {readout}; "
        f"max |<n> - exact| = {np.abs(res.n - n_true).max():.3f}, max |z| = {np.abs(z).max():.1f}"
    )
