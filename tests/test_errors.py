"""qdoem's error classes and how the command line reports them."""

import pytest

import qdoem
from qdoem.cli import main


def test_every_error_is_a_qdoem_error_and_input_errors_are_value_errors():
    for cls in (
        qdoem.ConfigError,
        qdoem.CheckpointError,
        qdoem.InvalidDensityOperatorError,
        qdoem.InvalidDimensionsError,
    ):
        assert issubclass(cls, qdoem.QdoemError) and issubclass(cls, ValueError), cls
    assert issubclass(qdoem.DivergenceError, qdoem.QdoemError)
    assert issubclass(qdoem.BackendError, qdoem.QdoemError)
    assert not issubclass(qdoem.DivergenceError, ValueError)


def test_cli_prints_a_user_error_on_one_line_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('persistent = "no"\n')
    assert main(["train", "--config", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("qdoem train: error: persistent in ") and "'no'" in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(tmp_path, where):
    args = ["train", "--n-hidden", "-3", "--run-dir", str(tmp_path / "r")]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    with pytest.raises(ValueError, match="n_hidden must be >= 1, got -3"):
        main(args)


def test_one_line_joins_the_lines_of_a_message():
    from qdoem.cli import one_line

    assert one_line(ValueError("a\n  b\n\nc")) == "a; b; c"
    assert one_line(KeyError()) == "KeyError"
