#!/usr/bin/env bash
# Recorded runs: DO-EM on a QRBM (9 visible, 4 hidden qubits), 3x3 Bars-and-Stripes, 20 epochs
# (40 steps), the E-step and negative-phase hidden samples from 1000 shots per unit and basis,
# on each kind of backend qdoem has, next to the closed form. None of them is a QPU.
#   closed-form/              no circuits
#   aer/                      Qiskit Aer statevector, noiseless
#   pennylane-default-mixed/  PennyLane default.mixed, noiseless
#   fake-sherbrooke/          IBM fake Sherbrooke (127 qubits) with its noise model, local
#                             (qdoem submit, Batch mode; qiskit-ibm-runtime local testing)
#   fake-sherbrooke-mthree/   the same with mthree readout-error mitigation
# Run from a checkout: QDOEM="python -m qdoem" PYTHONPATH=$PWD bash hardware_runs/.../run.sh
set -euo pipefail
cd "$(dirname "$0")"
QDOEM=${QDOEM:-qdoem}
rm -rf closed-form aer pennylane-default-mixed fake-sherbrooke fake-sherbrooke-mthree
common=(--config config.toml --no-progress --threads 1)
$QDOEM train "${common[@]}" --run-dir closed-form
$QDOEM train "${common[@]}" --run-dir aer --backend aer
$QDOEM train "${common[@]}" --run-dir pennylane-default-mixed --backend pennylane:default.mixed
$QDOEM submit "${common[@]}" --run-dir fake-sherbrooke --backend ibm:fake_sherbrooke --mode batch
$QDOEM submit "${common[@]}" --run-dir fake-sherbrooke-mthree --backend ibm:fake_sherbrooke \
    --mode batch --mitigation mthree
for run in closed-form aer pennylane-default-mixed fake-sherbrooke fake-sherbrooke-mthree; do
    echo "== $run"
    $QDOEM evaluate "$run"
done > evaluate.txt
python ../plot_runs.py --metric train_nll --out curves.png > summary.md \
    closed-form aer pennylane-default-mixed fake-sherbrooke fake-sherbrooke-mthree
