"""Render warehouse DDL for the topology it runs on: one server, or a cluster.

The migration files under ``warehouse/migrations`` are written for one server (the
embedded engine or a single ClickHouse server) and are shipped, checksummed and never
edited. For a cluster the same files are *rendered*, statement by statement, the way
Langfuse keeps one migration source for both shapes:

- ``CREATE TABLE t (...) ENGINE = X(args)`` becomes a replicated local table and a
  Distributed table with the original name over it, so every query, insert and view
  in ``warehouse/sql`` keeps working unchanged::

      CREATE TABLE IF NOT EXISTS t_local ON CLUSTER 'c' (...)
          ENGINE = ReplicatedX('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', args) ...
      CREATE TABLE IF NOT EXISTS t ON CLUSTER 'c' AS t_local
          ENGINE = Distributed('c', currentDatabase(), t_local, cityHash64(<sort key>))

  The sharding key hashes the table's sort key: rows a ReplacingMergeTree must
  collapse (same sort key) land on the same shard, so ``FINAL`` stays correct through
  the Distributed table. ``{shard}``, ``{replica}``, ``{database}`` and ``{table}`` are
  the server's own macros, expanded by each replica.
- ``ALTER TABLE t ADD|DROP|MODIFY|RENAME COLUMN ...`` runs on the local table and on the
  Distributed one (both carry the columns); any other ALTER (a mutation, a partition
  command) runs on the local tables only.
- ``CREATE VIEW v AS SELECT ...`` gains ``ON CLUSTER``: views read the Distributed tables.

A statement the renderer does not understand (a materialized view, an INSERT, a
``DROP``) is an error naming the file and the statement, so a new migration cannot
silently render wrongly: its author extends this module or writes it differently.
For one server the rendering is the file's text itself, byte for byte, which is what
the migration ledger's checksums are computed from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nightdesk.warehouse.clickhouse import WarehouseError

#: A cluster name as the server's ``remote_servers`` config spells it, or the ``{cluster}`` macro.
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_.{}-]+$")
#: Suffix of the replicated table under each Distributed table.
LOCAL_SUFFIX = "_local"
#: Default ZooKeeper/Keeper path of a replicated table (ClickHouse's own default macros).
REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}'"
REPLICA_NAME = "'{replica}'"

_CREATE_TABLE = re.compile(r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<body>\(.*)$", re.S | re.I)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(?P<engine>[A-Za-z]*MergeTree)\s*", re.I)
_ORDER_BY = re.compile(r"\bORDER\s+BY\s+", re.I)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALTER = re.compile(r"^ALTER\s+TABLE\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<rest>.*)$", re.S | re.I)
_COLUMN_CHANGE = re.compile(r"^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b", re.I)
_CREATE_VIEW = re.compile(r"^CREATE\s+(?P<replace>OR\s+REPLACE\s+)?VIEW\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<rest>AS\b.*)$", re.S | re.I)


@dataclass(frozen=True)
class Topology:
    """Where the warehouse tables live: ``cluster`` empty means one server."""

    cluster: str = ""

    def __post_init__(self) -> None:
        if self.cluster and not _CLUSTER_NAME.match(self.cluster):
            raise WarehouseError(f"cluster name {self.cluster!r} is not a ClickHouse cluster name "
                                 "(letters, digits, _ . - or the {cluster} macro)")

    @property
    def literal(self) -> str:
        """The cluster name quoted for ``ON CLUSTER`` and ``Distributed(...)``."""
        return f"'{self.cluster}'"

    @property
    def clustered(self) -> bool:
        return bool(self.cluster)


SINGLE = Topology()


def render(sql: str, topology: Topology, *, source: str = "<sql>") -> str:
    """The DDL script ``sql`` as it must run on ``topology``.

    For one server this is ``sql`` unchanged. For a cluster, every statement is rendered
    (see the module docstring) and the script is returned with one statement per line
    group, each ending in ``;``. ``source`` names the file in errors.
    """
    if not topology.clustered:
        return sql
    rendered = [r for statement in split(sql) for r in render_statement(statement, topology, source=source)]
    return "".join(f"{r};\n\n" for r in rendered)


def split(sql: str) -> list[str]:
    """The statements of a script, without their comments and trailing ``;``."""
    import sqlparse

    statements = []
    for raw in sqlparse.split(sql):
        text = sqlparse.format(raw, strip_comments=True).strip().rstrip(";").strip()
        if text:
            statements.append(text)
    return statements


def render_statement(statement: str, topology: Topology, *, source: str = "<sql>") -> list[str]:
    """One single-server statement as the cluster statements that replace it."""
    on_cluster = f"ON CLUSTER {topology.literal}"
    if match := _CREATE_TABLE.match(statement):
        return _create_table(match.group("name"), match.group("body"), topology, source)
    if match := _ALTER.match(statement):
        name, rest = match.group("name"), match.group("rest")
        if _top_level_comma(rest):  # each command would need its own target table
            raise WarehouseError(f"{source}: ALTER TABLE {name} holds several commands; write one ALTER per "
                                 "command so each renders for its table")
        local = f"ALTER TABLE {name}{LOCAL_SUFFIX} {on_cluster} {rest}"
        if _COLUMN_CHANGE.match(rest):
            return [local, f"ALTER TABLE {name} {on_cluster} {rest}"]
        return [local]
    if match := _CREATE_VIEW.match(statement):
        head = "CREATE " + ("OR REPLACE " if match.group("replace") else "") + "VIEW "
        head += "IF NOT EXISTS " if match.group("ine") else ""
        return [f"{head}{match.group('name')} {on_cluster} {match.group('rest')}"]
    raise WarehouseError(
        f"{source}: cannot render this statement for a cluster (only CREATE TABLE IF NOT EXISTS with a "
        f"*MergeTree engine, ALTER TABLE and CREATE VIEW are rendered; see nightdesk/warehouse/topology.py): "
        f"{' '.join(statement.split())[:160]}"
    )


def _create_table(name: str, body: str, topology: Topology, source: str) -> list[str]:
    engine = _ENGINE.search(body)
    order_by = _ORDER_BY.search(body)
    if engine is None or order_by is None:
        raise WarehouseError(
            f"{source}: table {name} needs an explicit *MergeTree ENGINE and ORDER BY to render for a cluster"
        )
    if engine.group("engine").startswith("Replicated"):
        raise WarehouseError(f"{source}: table {name} is already replicated; migrations are written for one server")
    engine_args, engine_end = _group(body, engine.end(), source)
    args = [REPLICA_PATH, REPLICA_NAME] + ([engine_args.strip()] if engine_args.strip() else [])
    replicated = f"ENGINE = Replicated{engine.group('engine')}({', '.join(args)})"
    local_body = body[: engine.start()] + replicated + body[engine_end:]
    local = f"{name}{LOCAL_SUFFIX}"
    on_cluster = f"ON CLUSTER {topology.literal}"
    key, _ = _group(body, order_by.end(), source)
    if not key:
        identifier = _IDENTIFIER.match(body, order_by.end())
        key = identifier.group(0) if identifier else ""
    if not key.strip() or key.strip() == "tuple":
        raise WarehouseError(f"{source}: table {name}'s ORDER BY names no column to shard by")
    return [
        f"CREATE TABLE IF NOT EXISTS {local} {on_cluster} {local_body}",
        f"CREATE TABLE IF NOT EXISTS {name} {on_cluster} AS {local} "
        f"ENGINE = Distributed({topology.literal}, currentDatabase(), {local}, cityHash64({key}))",
    ]


def _top_level_comma(text: str) -> bool:
    """Whether ``text`` has a comma outside parentheses and quotes."""
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'`\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            return True
    return False


def _group(text: str, start: int, source: str) -> tuple[str, int]:
    """The inside of the parenthesised group opening at ``start`` (nested groups kept)
    and the index after it; ``("", start)`` when no group opens there."""
    if start >= len(text) or text[start] != "(":
        return "", start
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1:index], index + 1
    raise WarehouseError(f"{source}: unbalanced parentheses after {text[max(0, start - 40):start + 1]!r}")
