from skiff.component.mains import main_language
from skiff.component.metadata import upgrade_schema


def test_standard_schema_is_unchanged() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert upgrade_schema(schema) == schema


def test_required_flags_move_to_the_parent_everywhere() -> None:
    legacy = {
        "type": "object",
        "required": True,
        "properties": {
            "a": {"type": "string", "required": True},
            "b": {"type": "string", "required": "false"},
            "c": {
                "type": "array",
                "items": {"type": "object", "properties": {"d": {"type": "number", "required": "true"}}},
            },
            "e": {"anyOf": [{"type": "object", "properties": {"f": {"required": True}}}]},
        },
    }
    assert upgrade_schema(legacy) == {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string"},
            "c": {
                "type": "array",
                "items": {"type": "object", "properties": {"d": {"type": "number"}}, "required": ["d"]},
            },
            "e": {"anyOf": [{"type": "object", "properties": {"f": {}}, "required": ["f"]}]},
        },
        "required": ["a"],
    }


def test_existing_required_list_is_kept_and_numbers_are_parsed() -> None:
    schema = {"properties": {"a": {"maxLength": "10"}, "b": {"required": True}}, "required": ["a"]}
    assert upgrade_schema(schema) == {"properties": {"a": {"maxLength": 10}, "b": {}}, "required": ["a", "b"]}


def test_main_languages() -> None:
    assert main_language("./actions/x.py") == "python"
    assert main_language("./lib/actions/x.js") == "javascript"
    assert main_language("io.elastic.jdbc.actions.SelectAction") == "java"
    assert main_language("./x.rb") == "unknown"
