"""Templates get time and size limits (issue 11, item 7)."""

from __future__ import annotations

import pytest

from skiff.errors import ConfigError
from skiff.templating import render_string


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "ran longer than"),
        ("{% for a in range(100000) %}{{ 'y' * 10000 }}{% endfor %}", "rendered more than 1,000,000 characters"),
        ("{{ 'x' * 1000000000 }}", "more than 1,000,000 items"),
        ("a{{ [0] * 1000000000 }}", "more than 1,000,000 items"),
        ("{{ 9 ** 99999999 }}", "a power that large"),
    ],
)
def test_costly_templates_are_stopped(template: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        render_string(template, {"cfg": {}})


def test_ordinary_templates_still_render() -> None:
    assert render_string("{{ 'ab' * 3 }}", {}) == "ababab"
    assert render_string("{{ 2 ** 10 }}", {}) == 1024
    assert render_string("{% for i in range(3) %}{{ i }}{% endfor %}", {}) == "012"
