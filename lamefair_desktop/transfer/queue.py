"""The durable upload queue: every file's state and every finished part, committed as it happens.

After a crash, kill -9 or reboot the queue says exactly where each upload was: parts recorded here
(or held by S3) are never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session, sessionmaker

from lamefair_desktop.home.tables import UploadPartRow, UploadRow, plain
from lamefair_desktop.home.tables import now as _now


@dataclass(frozen=True)
class QueuedFile:
    """A queue row as a plain value (what crosses threads and reaches the UI)."""

    file_id: str
    measurement_id: str
    server: str
    local_path: str
    rel_path: str
    size: int
    mtime_ns: int
    sha256: str  # "" until computed while sending, unless known at registration
    state: str
    upload_id: str | None
    part_size: int | None
    part_count: int | None
    error: str

    @classmethod
    def of(cls, row: UploadRow) -> QueuedFile:
        return plain(cls, row)


@dataclass(frozen=True)
class DonePart:
    number: int
    etag: str
    sha256: str
    size: int


_FILE = UploadRow.file_id == bindparam("b_file")
_GET = select(UploadRow.__table__).where(_FILE)
_SET_STATE = (
    update(UploadRow)
    .where(_FILE)
    .values(state=bindparam("b_state"), error=bindparam("b_error"), updated_at=bindparam("b_now"))
)
_SET_SHA256 = (
    update(UploadRow)
    .where(_FILE & (UploadRow.sha256 != bindparam("b_sha256")))
    .values(sha256=bindparam("b_sha256"), updated_at=bindparam("b_now"))
)


class UploadQueue:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._engine = sessions.kw["bind"]  # for the per-file reads and writes below

    def add(self, files: list[QueuedFile]) -> None:
        with self.sessions() as session:
            top = session.scalar(select(UploadRow.seq).order_by(UploadRow.seq.desc()).limit(1))
            for offset, item in enumerate(files, start=1):
                if session.get(UploadRow, item.file_id) is not None:
                    continue  # registering the same measurement twice is harmless
                session.add(
                    UploadRow(
                        file_id=item.file_id,
                        seq=(top or 0) + offset,
                        measurement_id=item.measurement_id,
                        server=item.server,
                        local_path=item.local_path,
                        rel_path=item.rel_path,
                        size=item.size,
                        mtime_ns=item.mtime_ns,
                        sha256=item.sha256,
                        state=item.state,
                    )
                )
            session.commit()

    def get(self, file_id: str) -> QueuedFile | None:
        with self._engine.connect() as connection:
            row = connection.execute(_GET, {"b_file": file_id}).first()
            return QueuedFile.of(row) if row else None

    def items(
        self, states: tuple[str, ...] | None = None, *, measurement_id: str | None = None
    ) -> list[QueuedFile]:
        """Queued files in registration order, of these states, of this measurement. Every file
        ever uploaded from this PC stays here: ask for the ones you need."""
        with self.sessions() as session:
            query = select(UploadRow).order_by(UploadRow.seq)
            if states:
                query = query.where(UploadRow.state.in_(states))
            if measurement_id is not None:
                query = query.where(UploadRow.measurement_id == measurement_id)
            return [QueuedFile.of(row) for row in session.scalars(query)]

    def counts(
        self, *, server: str | None = None, measurement_id: str | None = None
    ) -> dict[str, int]:
        """How many files are in each state, counted by the database. Loading every row to
        count them cost 20 us a row, twice per `lamefair upload`, and a PC's history grows
        without end."""
        query = select(UploadRow.state, func.count()).group_by(UploadRow.state)
        if server is not None:
            query = query.where(UploadRow.server == server)
        if measurement_id is not None:
            query = query.where(UploadRow.measurement_id == measurement_id)
        with self.sessions() as session:
            return {row[0]: row[1] for row in session.execute(query)}

    # The two writes every file makes, several times each: one prepared UPDATE on a connection,
    # not an ORM load, change and flush, nor a statement built anew each time (SQLAlchemy's
    # Python side was ~1 ms of CPU per write; a quarter of the client's CPU on small files).
    def set_state(self, file_id: str, state: str, error: str = "") -> None:
        self._write(_SET_STATE, b_file=file_id, b_state=state, b_error=error)

    def set_sha256(self, file_id: str, sha256: str) -> None:
        """The whole file's SHA-256, computed while it was sent (registered by size alone)."""
        self._write(_SET_SHA256, b_file=file_id, b_sha256=sha256)

    def _write(self, statement, **values) -> None:
        with self._engine.begin() as connection:
            connection.execute(statement, {**values, "b_now": _now()})

    def set_upload(self, file_id: str, upload_id: str | None, part_size: int, count: int) -> None:
        with self.sessions() as session:
            row = session.get(UploadRow, file_id)
            if row is not None and row.upload_id != upload_id:
                # A new multipart upload: parts of an older one mean nothing any more.
                for part in session.scalars(
                    select(UploadPartRow).where(UploadPartRow.file_id == file_id)
                ):
                    session.delete(part)
            if row is not None:
                row.upload_id, row.part_size, row.part_count = upload_id, part_size, count
                row.updated_at = _now()
            session.commit()

    def record_part(self, file_id: str, upload_id: str, part: DonePart) -> None:
        """Committed right after S3 accepted the part.

        One upsert statement, not merge()'s read-then-insert: two writers of the same part (a
        process taking over from one that was suspended) must not fail on the primary key."""
        values = {"etag": part.etag, "sha256": part.sha256, "size": part.size}
        statement = insert(UploadPartRow).values(
            file_id=file_id, upload_id=upload_id, number=part.number, **values
        )
        with self.sessions() as session:
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["file_id", "upload_id", "number"], set_=values
                )
            )
            session.commit()

    def parts(self, file_id: str, upload_id: str) -> dict[int, DonePart]:
        with self.sessions() as session:
            rows = session.scalars(
                select(UploadPartRow).where(
                    UploadPartRow.file_id == file_id, UploadPartRow.upload_id == upload_id
                )
            )
            return {r.number: DonePart(r.number, r.etag, r.sha256, r.size) for r in rows}

    def forget(self, file_id: str) -> None:
        with self.sessions() as session:
            row = session.get(UploadRow, file_id)
            if row is not None:
                session.delete(row)
                session.commit()
