"""Flow files: located errors, the published schema, and the exact round trip the studio relies on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from skiff.flow import Flow, FlowDocument, FlowFileError, check_flow, dump_flow, flow_json_schema
from tests.support import skiff_cmd

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def test_published_schema_matches_the_models() -> None:
    published = json.loads((REPO / "schemas" / "flow.schema.json").read_text(encoding="utf-8"))
    assert published == json.loads(json.dumps(flow_json_schema())), "run: skiff flow schema > schemas/flow.schema.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid_and_round_trip_exactly(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = FlowDocument.loads(text, source=str(path))
    assert check_flow(doc) == []
    assert doc.dumps() == text
    # An unchanged flow written back through the model is the same text, comments included.
    assert doc.with_flow(doc.flow).dumps() == text
    assert doc.with_flow(doc.to_dict()).dumps() == text


def test_an_edit_keeps_comments_and_the_rest_of_the_file() -> None:
    path = REPO / "examples" / "billbee-orders-to-billomat.yaml"
    doc = FlowDocument.load(path)
    data = doc.to_dict()
    data["trigger"]["schedule"] = {"every": "5m"}
    data["steps"][-1]["onError"] = {"retries": 2, "then": "skip"}
    edited = doc.with_flow(data)
    text = edited.dumps()
    assert "# Find the client by e-mail" in text
    assert "schedule: {every: 5m}" in text
    assert edited.flow.steps[-1].onError.then == "skip"
    original = doc.text.splitlines()
    changed = [line for line in text.splitlines() if line not in original]
    assert len(changed) <= 4, changed  # only the edited lines differ
    assert FlowDocument.loads(text).flow == edited.flow


def test_dump_flow_is_canonical_and_stable() -> None:
    flow = Flow.model_validate(
        {
            "name": "f",
            "trigger": {"component": "billbee", "function": "newOrders", "schedule": {"cron": "*/5 * * * *"}},
            "steps": [{"id": "a", "component": "http", "function": "request", "mapping": '{\n  "x": 1\n}'}],
        }
    )
    text = dump_flow(flow)
    assert "mapping: |" in text
    assert FlowDocument.loads(text).dumps() == text
    assert FlowDocument.loads(text).flow == flow


BAD = """\
name: bad
trigger:
  component: billbee
  function: newOrders
  cfg: {apiKey: "123"}
steps:
  - id: client
    component: billomat
    function: createClients
  - id: conf
    component: billomat
    function: createConfirmation
    mapping: |
      {
        "client_id": id,
        "x": $foo(
      }
    onError: {then: route, route: nowhere}
  - id: client
    component: billomat
    function: createClient
    when: 'a = '
"""


def test_every_problem_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(FlowFileError):
        from skiff.flow import load_flow

        load_flow(path)
    problems = [str(p) for p in check_flow(FlowDocument.load(path))]
    assert problems[0] == f"{path}:5:17: trigger.cfg.apiKey: " + problems[0].split("apiKey: ", 1)[1]
    assert "credential" in problems[0]
    assert problems[1].startswith(f"{path}:9:15: steps[0].function: billomat has no action 'createClients'")
    assert "did you mean 'createClient'" in problems[1]
    assert problems[2].startswith(f"{path}:17:7: steps[1].mapping: ")  # inside the block scalar
    assert problems[3].startswith(f"{path}:18:35: steps[1].onError.route: 'nowhere' is not an error step")
    assert problems[4].startswith(f"{path}:19:9: steps[2].id: step id 'client' is used twice")
    assert problems[5].startswith(f"{path}:22:16: steps[2].when: ")
    assert len(problems) == 6


def test_shape_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "shape.yaml"
    path.write_text("name: x\ntrigger: {component: billbee, function: newOrders}\nsteps:\n  - id: a\n    funktion: b\n")
    with pytest.raises(FlowFileError) as info:
        FlowDocument.load(path)
    lines = [str(p) for p in info.value.problems]
    assert f"{path}:4:5: steps[0].component: 'component' is required" in lines
    assert f"{path}:5:5: steps[0].funktion: unknown key 'funktion'" in lines


def test_cli_validate_prints_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    proc = subprocess.run(skiff_cmd("flow", "validate", str(path)), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 6 and all(line.startswith(f"{path}:") for line in lines)
    good = subprocess.run(
        skiff_cmd("flow", "validate", *map(str, EXAMPLES)), capture_output=True, text=True, timeout=60
    )
    assert good.returncode == 0, good.stderr


POSITIONS = "studio:\n  positions:\n    order: {x: 20, y: 30}   # the trigger\n    client: {x: 240, y: 130}\n"


def test_canvas_positions_validate_keep_their_comments_and_round_trip(tmp_path: Path) -> None:
    text = (REPO / "examples" / "billbee-orders-to-billomat.yaml").read_text(encoding="utf-8") + POSITIONS
    path = tmp_path / "placed.yaml"
    path.write_text(text, encoding="utf-8")
    doc = FlowDocument.load(path)
    assert check_flow(doc) == []
    assert doc.dumps() == text
    assert doc.flow.studio is not None and doc.flow.studio.positions["client"].x == 240
    proc = subprocess.run(skiff_cmd("flow", "validate", str(path)), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr

    # Moved and added positions: the comment stays, a new one is written on one line.
    data = doc.to_dict()
    data["studio"]["positions"]["client"] = {"x": 300, "y": 130}
    data["studio"]["positions"]["pdf"] = {"x": 500, "y": 400}
    edited = doc.with_flow(data).dumps()
    assert edited == text.replace("x: 240", "x: 300") + "    pdf: {x: 500, y: 400}\n"

    # Added to a file without any: only the studio block is new, at the end.
    bare = FlowDocument.loads(text.removesuffix(POSITIONS))
    data = bare.to_dict() | {"studio": {"positions": {"order": {"x": 20, "y": 30}}}}
    assert bare.with_flow(data).dumps() == text.removesuffix(POSITIONS) + (
        "studio:\n  positions:\n    order: {x: 20, y: 30}\n"
    )


def test_a_position_of_no_step_or_not_a_pixel_is_a_located_problem(tmp_path: Path) -> None:
    text = (REPO / "examples" / "billbee-orders-to-billomat.yaml").read_text(encoding="utf-8")
    lines = text.count("\n")
    stale = FlowDocument.loads(text + "studio:\n  positions:\n    gone: {x: 1, y: 2}\n", source="f.yaml")
    assert [str(p) for p in check_flow(stale)] == [
        f"f.yaml:{lines + 3}:5: studio.positions.gone: 'gone' is not a step of this flow"
    ]
    with pytest.raises(FlowFileError) as info:
        FlowDocument.loads(text + "studio:\n  positions:\n    order: {x: left, y: 2}\n", source="f.yaml")
    assert str(info.value.problems[0]).startswith(f"f.yaml:{lines + 3}:") and "studio.positions.order.x" in str(
        info.value.problems[0]
    )
    with pytest.raises(FlowFileError) as info:
        FlowDocument.loads(text + "studio:\n  layout: {}\n", source="f.yaml")
    assert "unknown key 'layout'" in str(info.value)
