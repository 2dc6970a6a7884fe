"""``qdoem compare``: the table, the PNG and the JSON record, every simulator kind, clean errors."""

from __future__ import annotations

import json

import pytest

from qdoem.cli import main

TINY = ["--dataset-option", "rows=2", "--repeat", "2", "--n-hidden", "2", "--batch-size", "6"]
TINY += ["--epochs", "2", "--quiet", "--threads", "1"]


def test_compare_writes_table_plot_and_record(tmp_path, capsys):
    """Every kind of run once, tiny: closed form, Aer at two budgets, the noisy Aer backend,
    PennyLane default.mixed, and K = 1, 2."""
    out = tmp_path / "cmp"
    args = ["compare", "--out", str(out), *TINY, "--shots", "20", "200", "--m-steps", "1", "2"]
    args += ["--noisy-shots", "50", "--pennylane-shots", "50"]
    assert main(args) == 0
    table = (out / "compare.md").read_text()
    assert "Simulators only" in table and "hardware" not in table.replace("no quantum hardware", "")
    for label in ("exact (closed form)", "aer 20 shots", "aer 200 shots, K=2"):
        assert f"| {label} |" in table
    assert "aer-noisy:manila 50 shots" in table and "pennylane:default.mixed 50 shots" in table
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads((out / "compare.json").read_text())
    assert record["command"].startswith("python -m qdoem compare --out ")
    assert "--m-steps 1 2" in record["command"]
    assert {"qdoem", "qiskit-aer", "pennylane", "torch"} <= set(record["versions"])
    assert record["settings"]["nll_method"] == "exact"
    assert len(record["runs"]) == 8  # (closed form + 2 budgets) x 2 K, noisy, PennyLane
    run = record["runs"][1]
    assert len(run["seeds"][0]["nll"]) == 3 and len(run["seeds"][0]["grad_rel_err"]) == 3
    assert run["seeds"][0]["qelbo"]["stderr"] > 0
    kinds = {row["kind"] for row in record["summary"]}
    assert "Aer simulator with fake IBM device noise model (manila)" in kinds
    assert "PennyLane default.mixed simulator" in kinds
    assert "wrote" in capsys.readouterr().out


def test_the_recorded_command_repeats_the_run(tmp_path):
    import shlex

    out = tmp_path / "a"
    args = ["compare", "--out", str(out), *TINY, "--shots", "30", "--noisy", "none"]
    args += ["--pennylane", "none", "--backend", "exact"]
    assert main(args) == 0
    record = json.loads((out / "compare.json").read_text())
    again = shlex.split(record["command"])[3:]  # after "python -m qdoem"
    again[again.index("--out") + 1] = str(tmp_path / "b")
    assert main([*again, "--quiet"]) == 0
    first = record["runs"]
    second = json.loads((tmp_path / "b" / "compare.json").read_text())["runs"]
    assert [r["seeds"][0]["nll"] for r in first] == [r["seeds"][0]["nll"] for r in second]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "nope"], "unknown backend 'nope'"),
        (["--noisy", "aer-noisy:not_a_device"], "not_a_device"),
        (["--model", "rbm"], "model must be a quantum model"),
        (["--lr", "-1"], "learning_rate must be > 0"),
        (["--dataset-option", "rows"], "--dataset-option must be KEY=VALUE"),
        (["--dataset", "nope"], "nope"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, message):
    args = ["compare", "--out", str(tmp_path / "o"), *TINY, "--pennylane", "none", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qdoem compare: error:") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag", ["--shots", "--epochs", "--seeds", "--m-steps", "--noisy-shots"])
def test_non_positive_counts_are_refused_by_the_parser(capsys, flag):
    with pytest.raises(SystemExit) as exc:
        main(["compare", flag, "0"])
    assert exc.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


def test_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    args = ["compare", "--out", str(target), *TINY, "--noisy", "none", "--pennylane", "none"]
    assert main([*args, "--backend", "exact", "--shots", "10"]) == 2
    assert "is a file" in capsys.readouterr().err
