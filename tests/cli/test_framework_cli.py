"""CLI over the model framework: registry-derived choices, samplers, runs from qdoem 0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from qdoem.cli import main
from qdoem.models import MODELS
from qdoem.sampling import SAMPLERS

RECORDED = (
    Path(__file__).resolve().parents[2]
    / "hardware_runs"
    / "2026-11-23_fake-manila_qrbm_bars-and-stripes"
)
FAST = ["--dataset", "bars_and_stripes", "--n-hidden", "4", "--batch-size", "7", "--seed", "1"]


def test_model_and_sampler_choices_come_from_the_registries(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert f"{{{','.join(sorted(MODELS))}}}" in out
    assert f"{{{','.join(sorted(SAMPLERS))}}}" in out
    with pytest.raises(SystemExit):
        main(["train", "--model", "vae"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("sampler", ["exact", "plain", "twin-mh"])
def test_train_with_each_sampler_and_sample_with_another(tmp_path, sampler):
    run = tmp_path / sampler
    args = ["train", "--run-dir", str(run), "--epochs", "2", "--sampler", sampler, *FAST]
    assert main([*args, "--no-progress"]) == 0
    assert json.loads((run / "config.json").read_text())["sampler"] == sampler
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert ("accept_rate" in lines[-1]) == (sampler != "plain")
    out = tmp_path / "s.pt"
    assert main(["sample", str(run), "-n", "3", "--steps", "2", "--sampler", "heat-bath",
                 "-o", str(out)]) == 0  # fmt: skip
    assert torch.load(out, weights_only=True).shape == (3, 9)


def test_a_run_recorded_by_qdoem_0_1_still_evaluates_and_resumes(tmp_path, capsys):
    """Checkpoints and configs of the first version load: the transverse field is renamed,
    and a config without a sampler ran (and resumes with) the plain chain."""
    run = tmp_path / "closed-form"
    shutil.copytree(RECORDED / "closed-form", run)
    recorded = json.loads((run / "eval_test.json").read_text())
    assert main(["evaluate", str(run)]) == 0
    now = json.loads((run / "eval_test.json").read_text())
    assert now["mean_log_likelihood"] == pytest.approx(recorded["mean_log_likelihood"], abs=1e-6)
    assert (
        main(["train", "--run-dir", str(run), "--resume", "--epochs", "151", "--no-progress"]) == 0
    )
    assert json.loads((run / "config.json").read_text())["sampler"] == "plain"
    assert "epoch 151/151" in capsys.readouterr().out


def test_backend_with_a_sampler_that_does_not_measure_is_refused(tmp_path, capsys):
    args = ["train", "--run-dir", str(tmp_path / "r"), "--backend", "exact", "--sampler",
            "twin-mh", *FAST]  # fmt: skip
    assert main(args) == 2
    assert "does not measure the quantum layers" in capsys.readouterr().err
