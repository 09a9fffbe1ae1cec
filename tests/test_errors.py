import pytest

from skiff import errors


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (errors.ConfigError, 2),
        (errors.InputError, 2),
        (errors.AuthError, 3),
        (errors.ApiError, 4),
        (errors.TransientError, 5),
        (errors.RateLimited, 5),
        (errors.ComponentError, 1),
    ],
)
def test_exit_codes(cls: type[errors.SkiffError], code: int) -> None:
    assert cls("x").exit_code == code


def test_one_line_even_for_multiline_vendor_messages() -> None:
    err = errors.ApiError("bad\nthing\n  happened", status=400)
    assert err.one_line() == "error: ApiError: bad thing happened"
    assert "\n" not in err.one_line()
