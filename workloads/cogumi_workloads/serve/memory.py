"""Session memory in SQLite: the last N exchanges of a session, prepended to its next request.

A session is named by the ``x-session-id`` header or the request's ``user`` field. Each answered
request stores (query, answer, modifier); only the newest ``last_n`` rows of a session are kept.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    ts REAL NOT NULL,
    query TEXT NOT NULL,
    answer TEXT NOT NULL,
    modifier TEXT
);
CREATE INDEX IF NOT EXISTS exchanges_session ON exchanges (session, id);
"""


@dataclass(frozen=True)
class Exchange:
    query: str
    answer: str
    modifier: str | None
    ts: float


class SessionMemory:
    def __init__(self, path: Path, last_n: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.last_n = path, last_n
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def recall(self, session: str) -> list[Exchange]:
        """The session's kept exchanges, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT query, answer, modifier, ts FROM exchanges WHERE session = ? ORDER BY id DESC LIMIT ?",
                (session, self.last_n)).fetchall()
        return [Exchange(q, a, m, ts) for q, a, m, ts in reversed(rows)]

    def remember(self, session: str, query: str, answer: str, modifier: str | None) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO exchanges (session, ts, query, answer, modifier) VALUES (?, ?, ?, ?, ?)",
                                 (session, time.time(), query, answer, modifier))
                self._db.execute(
                    "DELETE FROM exchanges WHERE session = ? AND id NOT IN "
                    "(SELECT id FROM exchanges WHERE session = ? ORDER BY id DESC LIMIT ?)",
                    (session, session, self.last_n))
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._db.execute("ROLLBACK")
                raise

    def count(self, session: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM exchanges WHERE session = ?", (session,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
