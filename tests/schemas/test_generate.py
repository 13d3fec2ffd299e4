"""JSON Schema files and examples stay in step with the models (schemas.generate)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from capmon.cli import main as capmon
from schemas import generate
from schemas.events import EVENT_TYPES, EventBatch
from schemas.messages import OUTBOUND_TYPES


def test_schema_files_match_the_models() -> None:
    assert generate.drift() == [], "run `capmon schemas` and commit schemas/json/"


def test_every_example_validates_against_its_model_and_schema() -> None:
    assert generate.example_errors() == []


def test_one_schema_and_one_example_per_message_type() -> None:
    titles = {json.loads(generate.render(stem))["title"] for stem in generate.SCHEMAS}
    expected = {t.__name__ for t in (*EVENT_TYPES, *OUTBOUND_TYPES, EventBatch)}
    assert expected <= titles
    examples = {path.stem for path in generate.EXAMPLES_DIR.glob("*.json")}
    assert examples == set(generate.SCHEMAS) - {"event", "targets"}


def test_every_schema_is_a_valid_json_schema() -> None:
    for stem in generate.SCHEMAS:
        schema = json.loads(generate.schema_path(stem).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)


def test_batch_items_are_the_event_union() -> None:
    schema = json.loads(generate.schema_path("event_batch").read_text(encoding="utf-8"))
    items = schema["properties"]["events"]["items"]
    refs = {option["$ref"] for option in items["oneOf"]}
    assert refs == {f"#/$defs/{t.__name__}" for t in EVENT_TYPES}
    assert schema["additionalProperties"] is False
    # The model that validates batches has the same envelope fields as the schema.
    assert set(schema["properties"]) == set(EventBatch.model_fields)


def test_the_json_schema_rejects_what_the_models_reject() -> None:
    schema = json.loads(generate.schema_path("event").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    good = json.loads((generate.EXAMPLES_DIR / "census_snapshot.json").read_text())
    assert validator.is_valid(good)
    bad: list[dict[str, Any]] = [
        {**good, "occupied": -1},
        {**good, "type": "bedcount"},
        {**good, "ward_id": "MED1"},
        {**good, "patient": "x"},
        {k: v for k, v in good.items() if k != "event_id"},
    ]
    for document in bad:
        assert not validator.is_valid(document), document


def _copy_json_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "json"
    shutil.copytree(generate.JSON_DIR, copy)
    monkeypatch.setattr(generate, "JSON_DIR", copy)
    return copy


def test_check_fails_on_drift_and_regenerating_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy_json_dir(tmp_path, monkeypatch)
    assert capmon(["schemas", "--check"]) == 0
    path = copy / "census_snapshot.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    del schema["properties"]["occupied"]  # as if the model gained a field
    path.write_text(json.dumps(schema), encoding="utf-8")
    (copy / "old_message.schema.json").write_text("{}", encoding="utf-8")
    assert capmon(["schemas", "--check"]) == 1
    output = capsys.readouterr().out
    assert "census_snapshot.schema.json: differs from the models" in output
    assert "old_message.schema.json: no model generates it" in output
    (copy / "old_message.schema.json").unlink()
    assert capmon(["schemas"]) == 0
    assert capmon(["schemas", "--check"]) == 0


def test_check_fails_on_a_bad_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(generate.EXAMPLES_DIR, examples)
    monkeypatch.setattr(generate, "EXAMPLES_DIR", examples)
    path = examples / "heartbeat.json"
    example = json.loads(path.read_text())
    example["occurred_at"] = "2025-01-14T06:15:00"  # naive: the model refuses it
    path.write_text(json.dumps(example), encoding="utf-8")
    assert capmon(["schemas", "--check"]) == 1
    assert "examples/heartbeat: model rejects it" in capsys.readouterr().out
