import pytest

from skiff.errors import ConfigError
from skiff.templating import compile_check, render, render_string

CTX = {"cfg": {"apiKey": "k", "n": 3}, "body": {"id": 7, "tags": ["a", "b"], "nested": {"x": 1}}}


def test_single_expression_keeps_native_type() -> None:
    assert render("{{ cfg.n }}", CTX) == 3
    assert render("{{ body.tags }}", CTX) == ["a", "b"]
    assert render("  {{ body.nested }}  ", CTX) == {"x": 1}


def test_mixed_text_renders_to_string() -> None:
    assert render("/orders/{{ body.id }}", CTX) == "/orders/7"
    assert render("{{ body.id }}-{{ cfg.n }}", CTX) == "7-3"


def test_missing_key_is_none_but_undefined_variable_is_an_error() -> None:
    assert render("{{ body.missing }}", CTX) is None
    assert render("{{ body['missing'] }}", CTX) is None
    with pytest.raises(ConfigError, match="'bdy' is undefined"):
        render("{{ bdy.id }}", CTX)


def test_render_recurses_into_lists_and_dicts() -> None:
    out = render({"q": {"id": "{{ body.id }}", "static": 1}, "l": ["{{ cfg.apiKey }}"]}, CTX)
    assert out == {"q": {"id": 7, "static": 1}, "l": ["k"]}


@pytest.mark.parametrize(
    "template",
    [
        "{{ cfg.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cfg.update({'a': 1}) }}",
        "{{ body.tags.append(1) }}",
    ],
)
def test_sandbox_blocks_internals_and_mutation(template: str) -> None:
    with pytest.raises(ConfigError):
        render_string(template, CTX)


def test_no_access_to_environment_or_files() -> None:
    with pytest.raises(ConfigError):
        render_string("{{ open('/etc/passwd').read() }}", CTX)
    with pytest.raises(ConfigError):
        render_string("{% include '/etc/passwd' %}", CTX)


def test_compile_check_reports_pointer() -> None:
    problems = compile_check({"request": {"path": "/x/{{ body.id "}})
    assert problems and problems[0][0] == "/request/path"
    assert "syntax error" in problems[0][1]
    assert compile_check({"ok": "{{ body.id }}"}) == []


def test_fast_path_agrees_with_jinja() -> None:
    from skiff.templating import _compile_template

    ctx = {**CTX, "body": {**CTX["body"], "flag": True, "none": None, "f": 1.5}}
    for text in ["/x/{{ body.id }}", "{{ body.flag }}-{{ body.none }}-{{ body.f }}", "a{{body.id}}b{{ cfg.n }}"]:
        assert render_string(text, ctx) == _compile_template(text).render(**ctx)
    assert render_string("{{ body.flag }}", ctx) is True
    assert render_string("{{ body.items }}", {"body": {"a": 1}}) is not None  # a dict method: Jinja decides
