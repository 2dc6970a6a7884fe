#!/usr/bin/env bash
# Bias of the shot estimates against the closed form, in standard errors, with and without
# mthree readout mitigation: 40 random units (c in [-4, 4], Gamma in [-2, 2]), 8000 shots.
# `backends check` exits 1 when some |z| >= 4 (biased); the record keeps going.
set -uo pipefail
cd "$(dirname "$0")"
QDOEM=${QDOEM:-qdoem}
{
for device in ibm:fake_sherbrooke ibm:fake_manila; do
    for mitigation in none mthree; do
        echo "\$ qdoem backends check $device --shots 8000 --units 40 --mitigation $mitigation"
        $QDOEM backends check "$device" --shots 8000 --units 40 --mitigation "$mitigation"
        echo "(exit status $?)"
        echo
    done
done
echo "\$ qdoem backends check aer --shots 8000 --units 40"
$QDOEM backends check aer --shots 8000 --units 40
echo "(exit status $?)"
} > backend_check.txt 2>&1
