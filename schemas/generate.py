"""``capmon schemas``: generate ``schemas/json/*.schema.json`` from the models, check examples.

    capmon schemas           write the JSON Schema files, then check every example
    capmon schemas --check   change nothing; exit 1 if a file differs from the models
                             (drift) or an example fails its model or its schema

Publishers in other languages read these files, so they are checked in and a test fails
when they drift from the models. Inbound messages (events, the batch) are described as
*accepted* (validation mode: fields with defaults are optional); outbound messages as
*sent* (serialization mode: every field is present).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, TypeAdapter

from schemas.events import (
    CapacityChange,
    CensusSnapshot,
    Event,
    EventBatch,
    Heartbeat,
    PatientMovement,
    PreparednessDeclared,
    WardRegistered,
)
from schemas.messages import AlertEvent, InvalidEventRecord, ScopeRollup, WardState
from schemas.targets import TARGETS_FILE, TargetConfig

SCHEMAS_DIR = Path(__file__).resolve().parent
JSON_DIR = SCHEMAS_DIR / "json"
EXAMPLES_DIR = SCHEMAS_DIR / "examples"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

Mode = Literal["validation", "serialization"]


class EventBatchSchema(EventBatch):
    """What ``EventBatch`` accepts, for the schema: items typed as events.

    ``EventBatch`` itself types items loosely because ``schemas.validation`` validates
    them one by one (a bad item must not reject its neighbours); a publisher still needs
    to know what an item is.
    """

    model_config = ConfigDict(title="EventBatch")

    events: Annotated[list[Event], Field(min_length=1, max_length=10_000)] = Field(  # type: ignore[assignment]
        description="1 to 10,000 events from this source about wards of this hospital, "
        "in the order they happened per ward."
    )


def _targets_file_schema() -> dict[str, Any]:
    schema = TargetConfig.model_json_schema(mode="validation")
    # Filled from regions.csv at load; the file must not set it.
    schema["properties"].pop("sparse_regions")
    schema["title"] = "Targets"
    return schema


def _schema(target: Any, mode: Mode, title: str | None = None) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        schema = TypeAdapter(target).json_schema(mode=mode)
        if title is not None:
            schema["title"] = title
        return schema

    return build


# file stem -> (schema builder, model validation of its example)
_Validate = Callable[[Any], object]
SCHEMAS: dict[str, tuple[Callable[[], dict[str, Any]], _Validate]] = {
    "census_snapshot": (_schema(CensusSnapshot, "validation"), CensusSnapshot.model_validate),
    "patient_movement": (_schema(PatientMovement, "validation"), PatientMovement.model_validate),
    "capacity_change": (_schema(CapacityChange, "validation"), CapacityChange.model_validate),
    "preparedness_declared": (
        _schema(PreparednessDeclared, "validation"),
        PreparednessDeclared.model_validate,
    ),
    "heartbeat": (_schema(Heartbeat, "validation"), Heartbeat.model_validate),
    "ward_registered": (_schema(WardRegistered, "validation"), WardRegistered.model_validate),
    "event": (_schema(Event, "validation", "Event"), TypeAdapter(Event).validate_python),
    "event_batch": (_schema(EventBatchSchema, "validation"), EventBatchSchema.model_validate),
    "ward_state": (_schema(WardState, "serialization"), WardState.model_validate),
    "scope_rollup": (_schema(ScopeRollup, "serialization"), ScopeRollup.model_validate),
    "alert_event": (_schema(AlertEvent, "serialization"), AlertEvent.model_validate),
    "invalid_event_record": (
        _schema(InvalidEventRecord, "serialization"),
        InvalidEventRecord.model_validate,
    ),
    "targets": (_targets_file_schema, TargetConfig.model_validate),
}
# Examples validated against a schema other than their own (the union of all events).
ALSO_VALID_AS = {
    stem: "event"
    for stem in (
        "census_snapshot",
        "patient_movement",
        "capacity_change",
        "preparedness_declared",
        "heartbeat",
        "ward_registered",
    )
}


def render(stem: str) -> str:
    """The exact text of ``json/<stem>.schema.json``."""
    body = SCHEMAS[stem][0]()
    document = {
        "$schema": DIALECT,
        "$comment": "Generated from the pydantic models by `capmon schemas`; do not edit.",
        **body,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def schema_path(stem: str) -> Path:
    return JSON_DIR / f"{stem}.schema.json"


def example_path(stem: str) -> Path:
    return EXAMPLES_DIR / f"{stem}.json"


def load_example(stem: str) -> Any:
    """An example document; the targets example is the real targets file."""
    if stem == "targets":
        with TARGETS_FILE.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    return json.loads(example_path(stem).read_text(encoding="utf-8"))


def drift() -> list[str]:
    """Schema files that differ from what the models generate (or are missing/extra)."""
    problems = [
        f"{schema_path(stem).name}: differs from the models"
        for stem in SCHEMAS
        if not schema_path(stem).exists()
        or schema_path(stem).read_text(encoding="utf-8") != render(stem)
    ]
    expected = {schema_path(stem).name for stem in SCHEMAS}
    problems += [
        f"{path.name}: no model generates it"
        for path in sorted(JSON_DIR.glob("*.schema.json"))
        if path.name not in expected
    ]
    return problems


def example_errors() -> list[str]:
    """Every example must validate against its model and its checked-in schema file."""
    # A development dependency: only this command and the tests need it.
    from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]

    problems: list[str] = []
    for stem, (_build, validate_model) in SCHEMAS.items():
        if stem == "event":
            continue  # no example of its own: every inbound event example is checked
        if stem != "targets" and not example_path(stem).exists():
            problems.append(f"examples/{stem}.json: missing")
            continue
        document = load_example(stem)
        try:
            validate_model(document)
        except ValueError as exc:
            problems.append(f"examples/{stem}: model rejects it: {exc}")
        for schema_stem in (stem, ALSO_VALID_AS.get(stem)):
            if schema_stem is None:
                continue
            path = schema_path(schema_stem)
            text = path.read_text(encoding="utf-8") if path.exists() else render(schema_stem)
            schema = json.loads(text)
            validator = Draft202012Validator(schema, format_checker=FormatChecker())
            problems += [
                f"examples/{stem}: {schema_stem}.schema.json: {error.json_path}: {error.message}"
                for error in validator.iter_errors(document)
            ]
    return problems


def write() -> list[Path]:
    JSON_DIR.mkdir(exist_ok=True)
    written = []
    for stem in SCHEMAS:
        path = schema_path(stem)
        text = render(stem)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="capmon schemas", description="Generate JSON Schema files and check the examples."
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 on drift or a bad example; write nothing"
    )
    args = parser.parse_args(argv)
    problems: list[str] = []
    if args.check:
        problems += drift()
    else:
        for path in write():
            print(f"wrote {path}")
    problems += example_errors()
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(SCHEMAS)} schemas up to date; examples valid")
    return 1 if problems else 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
