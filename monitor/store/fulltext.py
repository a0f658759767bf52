"""The full-text index of stored articles: a pre-filter for archive search.

The database does the work: SQLite's FTS5 (an external-content table over ``articles``,
kept in sync by triggers) and PostgreSQL's ``tsvector`` with a GIN index (a side table
filled by a trigger). Both are made by migration 0006 and live outside the SQLAlchemy
models, so Alembic's comparison leaves them alone.

The index only narrows the candidates; ``monitor.watch.search`` runs the real matcher over
them for the exact semantics. So the index must never miss an article the matcher would
find: both sides cut text into runs of letters and digits as ``monitor.matching.text``
does (SQLite's ``unicode61`` tokenizer with diacritics removed; on PostgreSQL every other
character becomes a space before the ``simple`` configuration lower-cases the words, and
common Latin accents are folded by ``translate``). Query words that are not plain ASCII,
or hold "ss" (the matcher's fold of "ß"), are not sent to the index (the folding rules
differ), and on PostgreSQL a document over
``PG_MAX_CHARS`` is indexed as ``complete = false`` and always a candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

PG_MAX_CHARS = 200_000  # a tsvector holds at most 1 MB; longer texts are always candidates
_ACCENTED = "àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž"
_PLAIN = "aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz"

_FORGET_OLD = (
    "INSERT INTO article_fts(article_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);"
)
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE article_fts USING fts5(title, body, content='articles', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER article_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    f"CREATE TRIGGER article_fts_delete AFTER DELETE ON articles BEGIN {_FORGET_OLD} END",
    "CREATE TRIGGER article_fts_update AFTER UPDATE OF title, body ON articles BEGIN "
    f"{_FORGET_OLD} INSERT INTO article_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_insert",
    "DROP TABLE IF EXISTS article_fts",
)
_PG_TEXT = (
    "translate(lower(coalesce({row}.title, '') || ' ' || coalesce({row}.body, '')), "
    f"'{_ACCENTED}', '{_PLAIN}')"
)
_PG_DOCUMENT = (
    "to_tsvector('simple', regexp_replace(left(replace({text}, 'ß', 'ss'), {limit}), "
    "'[^[:alnum:]]+', ' ', 'g'))"
)


def _pg_document(row: str) -> str:
    return _PG_DOCUMENT.format(text=_PG_TEXT.format(row=row), limit=PG_MAX_CHARS)


POSTGRES_DDL = (
    "CREATE TABLE article_fts (article_id integer PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE, "
    "document tsvector NOT NULL, complete boolean NOT NULL)",
    "CREATE INDEX ix_article_fts_document ON article_fts USING gin (document)",
    "CREATE INDEX ix_article_fts_incomplete ON article_fts (article_id) WHERE NOT complete",
    "CREATE FUNCTION article_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO article_fts (article_id, document, complete) VALUES (NEW.id, {_pg_document('NEW')}, "
    f"length(NEW.title) + length(NEW.body) < {PG_MAX_CHARS}) "
    "ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document, complete = EXCLUDED.complete; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER article_fts_sync AFTER INSERT OR UPDATE OF title, body ON articles "
    "FOR EACH ROW EXECUTE FUNCTION article_fts_sync()",
    f"INSERT INTO article_fts (article_id, document, complete) SELECT a.id, {_pg_document('a')}, "
    f"length(a.title) + length(a.body) < {PG_MAX_CHARS} FROM articles a",
)
POSTGRES_DROP = (
    "DROP TRIGGER IF EXISTS article_fts_sync ON articles",
    "DROP FUNCTION IF EXISTS article_fts_sync()",
    "DROP TABLE IF EXISTS article_fts",
)


def create_index(connection: Connection) -> None:
    """Create the index and its triggers, and index the stored articles (migration 0006)."""
    ddl = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in ddl:
        connection.exec_driver_sql(statement)


def drop_index(connection: Connection) -> None:
    """Remove the index and its triggers (migration 0006's downgrade)."""
    ddl = SQLITE_DROP if connection.dialect.name == "sqlite" else POSTGRES_DROP
    for statement in ddl:
        connection.exec_driver_sql(statement)


@dataclass(frozen=True, slots=True)
class Words:
    """Consecutive normalised words (a phrase); the last one a prefix when ``prefix``."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part must be in the document."""

    parts: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one part must be in the document."""

    parts: tuple[Clause, ...]


Clause = Words | AllOf | AnyOf


def fts5_query(clause: Clause) -> str:
    """``clause`` in FTS5's query syntax (words are ASCII letters and digits only)."""
    if isinstance(clause, Words):
        return '"' + " ".join(clause.words) + '"' + ("*" if clause.prefix else "")
    joiner = " AND " if isinstance(clause, AllOf) else " OR "
    return "(" + joiner.join(fts5_query(part) for part in clause.parts) + ")"


def tsquery(clause: Clause) -> str:
    """``clause`` as the text of a PostgreSQL ``to_tsquery('simple', ...)``."""
    if isinstance(clause, Words):
        quoted = [f"'{word}'" for word in clause.words]
        if clause.prefix:
            quoted[-1] += ":*"
        return "(" + " <-> ".join(quoted) + ")"
    joiner = " & " if isinstance(clause, AllOf) else " | "
    return "(" + joiner.join(tsquery(part) for part in clause.parts) + ")"


def has_index(session: Session) -> bool:
    """Whether the database has the index (a database adopted from 0.1 may not)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        found = session.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'article_fts'")).first()
    else:
        found = session.execute(text("SELECT to_regclass('article_fts')")).scalar()
    return bool(found)


def candidate_ids(session: Session, clause: Clause, before: int | None, limit: int) -> list[int]:
    """Ids of articles the index says may match, newest (highest id) first, below ``before``."""
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {"limit": limit, "before": before if before is not None else 2**31}
    if dialect == "sqlite":
        params["q"] = fts5_query(clause)
        statement = text(
            "SELECT rowid FROM article_fts WHERE article_fts MATCH :q AND rowid < :before "
            "ORDER BY rowid DESC LIMIT :limit"
        )
    else:
        params["q"] = tsquery(clause)
        statement = text(
            "SELECT article_id FROM article_fts WHERE (document @@ to_tsquery('simple', :q) OR NOT complete) "
            "AND article_id < :before ORDER BY article_id DESC LIMIT :limit"
        )
    return [int(row[0]) for row in session.execute(statement, params)]


def words_only(words: Sequence[str]) -> bool:
    """Whether every word can go to the index as it is: ASCII letters and digits.

    A word with "ss" is kept out too: the matcher folds "ß" to "ss", FTS5 does not.
    """
    return all(word.isascii() and word.isalnum() and "ss" not in word for word in words)
