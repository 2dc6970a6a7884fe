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


def test_check_int_returns_the_value_at_and_above_the_minimum():
    from qdoem.errors import check_int

    assert check_int("n", 0) == 0
    assert check_int("n", 1, 1) == 1
    assert check_int("n", 7, 3) == 7
    big = 2**70
    assert check_int("n", big, 2) is big


@pytest.mark.parametrize("value", [True, False])
def test_check_int_rejects_bool(value):
    from qdoem.errors import check_int

    with pytest.raises(ValueError) as info:
        check_int("flag", value)
    assert str(info.value) == f"flag must be an int >= 0, got {value!r}"


@pytest.mark.parametrize("value", [2.0, 1.5, "3", None])
def test_check_int_rejects_non_ints_even_integral_floats(value):
    from qdoem.errors import check_int

    with pytest.raises(ValueError) as info:
        check_int("batch_size", value, 1)
    assert str(info.value) == f"batch_size must be a positive int, got {value!r}"


def test_check_int_below_the_minimum_gives_the_exact_message():
    from qdoem.errors import check_int

    with pytest.raises(ValueError) as info:
        check_int("epochs", 0, 1)
    assert str(info.value) == "epochs must be a positive int, got 0"
    with pytest.raises(ValueError) as info:
        check_int("n_chains", 1, 2)
    assert str(info.value) == "n_chains must be an int >= 2, got 1"
    with pytest.raises(ValueError) as info:
        check_int("retries", -1)
    assert str(info.value) == "retries must be an int >= 0, got -1"


def test_check_int_raises_the_error_class_asked_for():
    from qdoem.errors import check_int

    with pytest.raises(qdoem.ConfigError, match=r"^m_steps must be a positive int, got 0$"):
        check_int("m_steps", 0, 1, error=qdoem.ConfigError)
    with pytest.raises(TypeError, match=r"^k must be an int >= 3, got 'x'$"):
        check_int("k", "x", 3, error=TypeError)
    # the default is a plain ValueError, not a ConfigError
    with pytest.raises(ValueError) as info:
        check_int("k", -1)
    assert type(info.value) is ValueError


def test_a_config_setting_still_raises_config_error_through_check_int():
    from qdoem.training import TrainConfig

    with pytest.raises(qdoem.ConfigError, match=r"^cd_k must be a positive int, got True$"):
        TrainConfig(cd_k=True)
    with pytest.raises(qdoem.ConfigError, match=r"^pretrain_epochs must be an int >= 0, got -1$"):
        TrainConfig(pretrain_epochs=-1)
