"""The TimescaleDB migrations, checked without TimescaleDB (unit).

TimescaleDB cannot be installed on the development machine; docker-compose runs this SQL for
real. Here it is parsed with pglast (PostgreSQL's own parser) and checked against the common
schema: the tables and columns it names exist, compression settings cover each primary key
(TimescaleDB refuses compression otherwise), every time table gets a hypertable, retention and
compression, and the functions the rest of the system calls exist on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pglast
import pytest
from pglast import ast

from store.migrations import Backend, Migration, migrations_for


@dataclass
class Table:
    columns: list[str]
    primary_key: list[str]


def _statements(migrations: list[Migration]) -> list[Any]:
    return [raw.stmt for m in migrations for raw in pglast.parse_sql(m.sql)]


def _common() -> list[Migration]:
    return [m for m in migrations_for(Backend.NATIVE) if "/" not in m.id]


def _backend_only(backend: Backend) -> list[Migration]:
    return [m for m in migrations_for(backend) if m.id.startswith(f"{backend.value}/")]


def _tables(statements: list[Any]) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for stmt in statements:
        if not isinstance(stmt, ast.CreateStmt):
            continue
        table = Table([], [])
        for element in stmt.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                table.columns.append(element.colname)
            elif (
                isinstance(element, ast.Constraint)
                and element.contype == pglast.enums.ConstrType.CONSTR_PRIMARY
            ):
                table.primary_key = [key.sval for key in element.keys]
            elif isinstance(element, ast.TableLikeClause):
                source = tables[element.relation.relname]
                table.columns += source.columns
                table.primary_key = list(source.primary_key)
        tables[stmt.relation.relname] = table
    return tables


def _time_tables(statements: list[Any]) -> set[str]:
    names = set()
    for stmt in statements:
        if isinstance(stmt, ast.InsertStmt) and stmt.relation.relname == "capmon_time_tables":
            names |= {values[0].val.sval for values in stmt.selectStmt.valuesLists}
    return names


def _calls(statements: list[Any], function: str) -> list[ast.SelectStmt]:
    found = []
    for stmt in statements:
        if isinstance(stmt, ast.SelectStmt) and stmt.targetList:
            call = stmt.targetList[0].val
            if isinstance(call, ast.FuncCall) and call.funcname[-1].sval == function:
                found.append(stmt)
    return found


def _functions_left(statements: list[Any]) -> set[tuple[str, tuple[str, ...]]]:
    """Functions a list of statements leaves behind: (name, argument types)."""
    made: set[tuple[str, tuple[str, ...]]] = set()
    for stmt in statements:
        if isinstance(stmt, ast.CreateFunctionStmt):
            args = tuple(p.argType.names[-1].sval for p in stmt.parameters or ())
            made.add((stmt.funcname[-1].sval, args))
        elif (
            isinstance(stmt, ast.DropStmt)
            and stmt.removeType == pglast.enums.ObjectType.OBJECT_FUNCTION
        ):
            for obj in stmt.objects:
                args = tuple(t.names[-1].sval for t in obj.objargs or ())
                made.discard((obj.objname[-1].sval, args))
    return made


COMMON = _statements(_common())
TABLES = _tables(COMMON)
TIME_TABLES = _time_tables(COMMON)
TIMESCALE = _statements(_backend_only(Backend.TIMESCALE))
NATIVE = _statements(_backend_only(Backend.NATIVE))


def test_timescale_sql_parses_and_enables_the_extension() -> None:
    assert TIMESCALE, "no TimescaleDB migration found"
    extensions = [s.extname for s in TIMESCALE if isinstance(s, ast.CreateExtensionStmt)]
    assert extensions == ["timescaledb"]


def test_backends_replace_each_other_number_for_number() -> None:
    """Later common migrations must find the same schema whatever the backend."""
    native = [m.number for m in _backend_only(Backend.NATIVE)]
    timescale = [m.number for m in _backend_only(Backend.TIMESCALE)]
    assert native == timescale


def test_schema_is_common_timescale_adds_no_tables_or_indexes() -> None:
    for stmt in TIMESCALE:
        assert not isinstance(stmt, ast.CreateStmt | ast.IndexStmt | ast.CreateTableAsStmt), stmt


def test_time_tables_exist_with_their_time_column_in_the_key() -> None:
    assert {"ward_state_history", "rollup_history", "occupancy_hourly"} <= TIME_TABLES
    for stmt in COMMON:
        if isinstance(stmt, ast.InsertStmt) and stmt.relation.relname == "capmon_time_tables":
            for values in stmt.selectStmt.valuesLists:
                table, column = values[0].val.sval, values[1].val.sval
                assert column in TABLES[table].columns, (table, column)
                # TimescaleDB (and native partitioning) need the time column in every unique key
                assert column in TABLES[table].primary_key, (table, column)


def test_hypertables_and_retention_follow_capmon_time_tables() -> None:
    for function in ("create_hypertable", "add_retention_policy"):
        (select,) = _calls(TIMESCALE, function)
        (source,) = select.fromClause
        assert source.relname == "capmon_time_tables", function


def _compression_settings() -> dict[str, dict[str, list[str]]]:
    settings: dict[str, dict[str, list[str]]] = {}
    for stmt in TIMESCALE:
        if not isinstance(stmt, ast.AlterTableStmt):
            continue
        for cmd in stmt.cmds:
            options = {
                d.defname: ([c.strip().split()[0] for c in d.arg.sval.split(",")] if d.arg else [])
                for d in cmd.def_ or ()
                if d.defnamespace == "timescaledb"
            }
            if "compress" in options:
                settings[stmt.relation.relname] = options
    return settings


def test_compression_is_valid_for_every_time_table() -> None:
    settings = _compression_settings()
    assert set(settings) == TIME_TABLES
    for table, options in settings.items():
        segment_by = options.get("compress_segmentby", [])
        order_by = options.get("compress_orderby", [])
        for column in segment_by + order_by:
            assert column in TABLES[table].columns, (table, column)
        # TimescaleDB: a unique key of a compressed table must be in segmentby + orderby
        assert set(TABLES[table].primary_key) <= set(segment_by + order_by), table


def test_every_compressed_table_has_a_compression_policy() -> None:
    policies = {
        select.targetList[0].val.args[0].val.sval
        for select in _calls(TIMESCALE, "add_compression_policy")
    }
    assert policies == set(_compression_settings())


@pytest.mark.parametrize("backend_statements", [TIMESCALE, NATIVE], ids=["timescale", "native"])
def test_functions_the_system_calls_exist_on_both_backends(backend_statements: list[Any]) -> None:
    assert _functions_left(backend_statements) == {
        ("capmon_ensure_partition", ("text", "timestamptz"))
    }
