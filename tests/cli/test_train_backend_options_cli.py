"""``qdoem train --backend-option KEY=VALUE``: the TOML's ``[backend_options]`` from the command
line, checked by the same code, refused on resume when changed, recorded in the run."""

from __future__ import annotations

import json

import pytest

from qdoem.cli import main
from qdoem.cli.train import parse_option, parse_options
from qdoem.errors import ConfigError

COMMON = ["--n-hidden", "3", "--batch-size", "14", "--epochs", "1", "--no-progress"]
AER = ["--backend", "aer", "--shots", "20"]


def _run(tmp_path, name, *extra):
    run = tmp_path / name
    return main(["train", "--run-dir", str(run), *COMMON, *extra]), run


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("qdoem train: error:") and "\n" not in err
    return err


@pytest.mark.parametrize(
    ("text", "value"),
    [("2", 2), ("0.5", 0.5), ("true", True), ('"a b"', "a b"), ("mthree", "mthree"), ("", "")],
)
def test_values_are_toml_scalars(text, value):
    key, parsed = parse_option(f"k={text}", "--backend-option")
    assert key == "k" and parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["units_per_circuit"], "must be KEY=VALUE"),
        (["=2"], "must be KEY=VALUE"),
        (["k=[1, 2]"], "VALUE must be a number, true/false or a string"),
        (["k={a = 1}"], "VALUE must be a number"),
        (["k=1", "k=2"], "k given twice"),
    ],
)
def test_bad_pairs_are_refused(pairs, message):
    with pytest.raises(ConfigError, match=message):
        parse_options(pairs, "--backend-option")


def test_option_reaches_the_aer_backend_and_is_recorded(tmp_path):
    code, run = _run(tmp_path, "r", *AER, "--backend-option", "units_per_circuit=2")
    assert code == 0
    record = json.loads((run / "backend.json").read_text())
    assert record["units_per_circuit"] == 2  # the backend's own describe(): it was built so
    assert record["invocations"][0]["backend_options"] == {"units_per_circuit": 2}
    config = json.loads((run / "config.json").read_text())
    assert config["backend_options"] == {"units_per_circuit": 2}


def test_flag_overrides_the_toml_table_key_by_key(tmp_path):
    pytest.importorskip("qiskit_ibm_runtime")
    toml = tmp_path / "run.toml"
    toml.write_text(
        'backend = "ibm:fake_manila"\nshots = 20\n[backend_options]\nunits_per_circuit = 1\n'
        'layout = "transpiler"\n'
    )
    code, run = _run(
        tmp_path, "r", "--config", str(toml), "--backend-option", "units_per_circuit=2"
    )
    assert code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["backend_options"] == {"units_per_circuit": 2, "layout": "transpiler"}
    assert json.loads((run / "backend.json").read_text())["units_per_circuit"] == 2


def test_unknown_key_names_the_closest_valid_one_from_flag_and_toml_alike(tmp_path, capsys):
    code, run = _run(tmp_path, "a", *AER, "--backend-option", "units=2")
    assert code == 2 and not run.exists()
    from_flag = _one_line_error(capsys)
    assert "unknown backend option 'units'" in from_flag
    assert "did you mean 'units_per_circuit'?" in from_flag
    toml = tmp_path / "run.toml"
    toml.write_text('backend = "aer"\nshots = 20\n[backend_options]\nunits = 2\n')
    assert _run(tmp_path, "b", "--config", str(toml))[0] == 2
    assert _one_line_error(capsys) == from_flag  # the same check, the same words


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend-option", "units_per_circuit=abc"], "units_per_circuit must be a positive"),
        (["--backend-option", "units_per_circuit=0"], "units_per_circuit must be a positive"),
        (["--backend-option", "seed=3"], "the run's seed seeds the backend"),
        (["--backend", "exact", "--backend-option", "shots=3"], "takes no options"),
    ],
)
def test_bad_values_and_keys_are_one_line_errors(tmp_path, capsys, extra, message):
    args = ["--shots", "20", *extra]
    if "--backend" not in extra:
        args += ["--backend", "aer"]
    assert _run(tmp_path, "r", *args)[0] == 2
    assert message in _one_line_error(capsys)


def test_option_without_a_backend_is_refused(tmp_path, capsys):
    assert _run(tmp_path, "r", "--backend-option", "units_per_circuit=2")[0] == 2
    assert "need a backend" in _one_line_error(capsys)


def test_resume_refuses_changed_backend_options_like_other_settings(tmp_path, capsys):
    code, run = _run(tmp_path, "r", *AER, "--backend-option", "units_per_circuit=2")
    assert code == 0
    resume = ["train", "--run-dir", str(run), "--resume", "--epochs", "2", "--no-progress"]
    assert main([*resume, "--backend-option", "units_per_circuit=3"]) == 2
    err = _one_line_error(capsys)
    assert "settings differ" in err and "backend_options" in err and "--allow-changes" in err
    assert main([*resume, "--backend-option", "nope=1", "--allow-changes"]) == 2
    assert "unknown backend option 'nope'" in _one_line_error(capsys)  # checked on resume too
    # the saved value again is no change; no flag keeps the saved options
    assert main([*resume, "--backend-option", "units_per_circuit=2"]) == 0
    assert main([*resume[:-3], "--epochs", "3", "--no-progress"]) == 0
    record = json.loads((run / "backend.json").read_text())
    assert [c["backend_options"] for c in record["invocations"]] == [{"units_per_circuit": 2}] * 3
    assert record["units_per_circuit"] == 2
    # --allow-changes goes on with the change and records it
    assert main([*resume[:-3], "--epochs", "4", "--allow-changes", "--no-progress",
                 "--backend-option", "units_per_circuit=1"]) == 0  # fmt: skip
    change = json.loads((run / "changes.jsonl").read_text().splitlines()[-1])
    assert change["changed"]["backend_options"] == [
        {"units_per_circuit": 2},
        {"units_per_circuit": 1},
    ]
    assert json.loads((run / "backend.json").read_text())["units_per_circuit"] == 1
