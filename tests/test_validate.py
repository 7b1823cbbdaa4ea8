import pytest

from helpers import _validate as validate


def test_choice_lists_valid_names():
    assert validate.choice("a", ["a", "b"], "activation") == "a"
    with pytest.raises(ValueError, match=r"unknown activation 'c'; valid names are 'a', 'b'"):
        validate.choice("c", ["a", "b"], "activation")


@pytest.mark.parametrize("bad", [0, -3])
def test_positive_int_rejects_non_positive(bad):
    with pytest.raises(ValueError, match="depth"):
        validate.positive_int(bad, "depth")


@pytest.mark.parametrize("bad", [2.5, "3", True, None])
def test_positive_int_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="width"):
        validate.positive_int(bad, "width")


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_nonnegative_rejects_negative_and_non_finite(bad):
    with pytest.raises(ValueError, match="scale"):
        validate.nonnegative(bad, "scale")


def test_positive_rejects_zero():
    assert validate.positive(0.5, "lr") == 0.5
    with pytest.raises(ValueError, match="lr"):
        validate.positive(0, "lr")
