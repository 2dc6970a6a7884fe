#!/usr/bin/env bash
# Recorded run: DO-EM on a QRBM (9 visible, 4 hidden qubits), 3x3 Bars-and-Stripes, with the
# E-step estimated from 500 shots per unit and basis of Gibbs-state preparation circuits on
# IBM's fake Manila device (qiskit-ibm-runtime local testing mode: the device's noise model,
# coupling map and basis gates), next to the same run with the closed-form E-step.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf closed-form fake-manila
qdoem train --config config.toml --no-progress --run-dir closed-form
qdoem train --config config.toml --no-progress --run-dir fake-manila --backend ibm:fake_manila --shots 500
qdoem evaluate closed-form > evaluate.txt
qdoem evaluate fake-manila >> evaluate.txt
qdoem backends check ibm:fake_manila --shots 4000 --seed 0 > backend_check.txt || true  # exits 1: biased
qdoem backends check aer --shots 4000 --seed 0 >> backend_check.txt
