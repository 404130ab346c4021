"""Domain commands for the hierarchy: the rules, the transactions, the change feed, the READMEs.

Routers call these and nothing else; these call the database and the storage gateway.
Creates are idempotent on a client-supplied id (same content: 200 with the existing row; other
content: 409). Unique names are enforced by database constraints, so racing creates resolve to one
winner and 409s, never a 500.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lamefair_catalog import schemas as s
from lamefair_catalog.auth import Principal
from lamefair_catalog.breaker import Breaker
from lamefair_catalog.errors import Conflict, Forbidden, Invalid, NotFound
from lamefair_catalog.models import (
    Change,
    Experiment,
    Project,
    Proposal,
    ProposalMember,
    Sample,
)
from lamefair_catalog.readme import render
from lamefair_catalog.settings import Settings
from lamefair_catalog.shared import InvalidName, bucket_name, slugify, validate_atom_types
from lamefair_catalog.storage import Storage, StorageError

log = logging.getLogger("lamefair_catalog")

Created = tuple[Any, bool]  # (the row as an API model, True when this call created it)
T = TypeVar("T")

# An arbitrary constant: the PostgreSQL advisory lock that orders change-feed inserts.
CHANGE_FEED_LOCK = 0x1A3EFA1


def proposal_prefix(project_slug: str, number_slug: str) -> str:
    return f"{project_slug}/PROPOSAL-{number_slug}/"


def sample_prefix(proposal: Proposal, sample_slug: str) -> str:
    return proposal_prefix(proposal.project.slug, proposal.number_slug) + f"SAMPLE-{sample_slug}/"


def experiment_prefix(proposal: Proposal, sample: Sample, experiment_slug: str) -> str:
    return sample_prefix(proposal, sample.slug) + f"EXP-{experiment_slug}/"


# --- row -> API model -------------------------------------------------------------------------


def project_out(row: Project) -> s.ProjectOut:
    return s.ProjectOut(
        id=row.id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def proposal_out(row: Proposal) -> s.ProposalOut:
    return s.ProposalOut(
        id=row.id,
        project=row.project_id,
        project_slug=row.project.slug,
        number=row.number,
        number_slug=row.number_slug,
        pi_name=row.pi_name,
        date=row.date,
        title=row.title,
        description=row.description,
        members=[m.principal for m in row.members],
        raw_bucket=row.raw_bucket,
        mirror_bucket=row.mirror_bucket,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def sample_out(row: Sample) -> s.SampleOut:
    return s.SampleOut(
        id=row.id,
        proposal=row.proposal_id,
        name=row.name,
        slug=row.slug,
        identifier=row.identifier,
        preparation_date=row.preparation_date,
        atom_types=list(row.atom_types or []),
        physical_form=row.physical_form,
        is_simulation=row.is_simulation,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def experiment_out(row: Experiment) -> s.ExperimentOut:
    return s.ExperimentOut(
        id=row.id,
        sample=row.sample_id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        start_time=row.start_time,
        end_time=row.end_time,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _same_content(existing: Any, wanted: dict[str, Any]) -> bool:
    current = existing.model_dump()
    return all(current.get(key) == value for key, value in wanted.items())


class Catalog:
    """The hierarchy's commands. One instance per server; thread-safe (a session per call)."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        storage: Storage,
        database: Breaker | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.database = database

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session, refused at once (503) while the database is known not to answer."""
        if self.database is None:
            with self.sessions() as session:
                yield session
            return
        with self.database.call(), self.sessions() as session:
            yield session

    def record_change(
        self,
        session: Session,
        entity: str,
        entity_id: uuid.UUID,
        op: str,
        proposal_id: uuid.UUID | None,
        data: Any,
    ) -> None:
        """Append to the change feed inside the caller's transaction.

        On PostgreSQL a transaction-scoped advisory lock makes revs commit in the order they are
        handed out, so a reader polling `since=rev` can never skip a row committed late.
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_FEED_LOCK})
        payload = data.model_dump(mode="json") if hasattr(data, "model_dump") else data
        session.add(
            Change(entity=entity, entity_id=entity_id, op=op, proposal_id=proposal_id, data=payload)
        )

    def _create(
        self,
        session: Session,
        *,
        model: type,
        requested_id: uuid.UUID | None,
        build: Callable[[uuid.UUID], Any],
        to_out: Callable[[Any], Any],
        compare: dict[str, Any],
        entity: str,
        proposal_id_of: Callable[[Any], uuid.UUID | None],
        find_duplicate: Callable[[Session], Any],
        duplicate_message: str,
        duplicate_field: str = "name",
    ) -> Created:
        """The create protocol shared by every entity (idempotent id, constraint-backed 409s)."""
        if requested_id is not None:
            existing = session.get(model, requested_id)
            if existing is not None:
                return self._replay(existing, to_out, compare, entity), False
        row = build(requested_id or uuid.uuid4())
        session.add(row)
        try:
            session.flush()
            out = to_out(row)
            self.record_change(session, entity, row.id, "create", proposal_id_of(row), out)
            session.commit()
        except IntegrityError:
            session.rollback()
            if requested_id is not None:
                existing = session.get(model, requested_id)
                if existing is not None:  # the same create raced itself
                    return self._replay(existing, to_out, compare, entity), False
            duplicate = find_duplicate(session)
            raise Conflict(
                duplicate_message,
                field=duplicate_field,
                existing_id=str(duplicate.id) if duplicate else None,
            ) from None
        return out, True

    @staticmethod
    def _replay(existing: Any, to_out: Callable, compare: dict, entity: str) -> Any:
        out = to_out(existing)
        if not _same_content(out, compare):
            raise Conflict(
                f"A {entity} with id {existing.id} already exists with different content.",
                existing_id=str(existing.id),
            )
        return out

    def write_readme(self, buckets: list[str], prefix: str, kind: str, fields: dict, who: str):
        """Best effort after commit: the catalog row is the truth, a README can be rewritten
        (`POST /api/proposals/<id>/ensure-buckets` rewrites them all)."""
        body = render(kind, fields, who)
        for bucket in buckets:
            try:
                self.storage.put_text(bucket, prefix + "README.txt", body)
            except StorageError as exc:
                log.warning("README for %s %s not written: %s", kind, prefix, exc)

    # --- access -------------------------------------------------------------------------------

    @staticmethod
    def require_writer(principal: Principal) -> None:
        if not principal.sees_everything:
            raise Forbidden(
                "Only operators and PIs may create or change entries and upload data. "
                "Ask a lab administrator to add you to the operators group."
            )

    @staticmethod
    def require_admin(principal: Principal) -> None:
        if not principal.is_admin:
            raise Forbidden("Only lab administrators (PIs) may do this.")

    def visible_proposal_ids(self, session: Session, principal: Principal) -> set[uuid.UUID] | None:
        """None means every proposal (admins and operators)."""
        if principal.sees_everything:
            return None
        rows = session.scalars(
            select(ProposalMember.proposal_id).where(
                ProposalMember.principal.in_(sorted(principal.names))
            )
        )
        return set(rows)

    def readable_proposal(
        self, session: Session, principal: Principal, proposal_id: uuid.UUID
    ) -> Proposal:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound(f"Proposal {proposal_id} does not exist.")
        visible = self.visible_proposal_ids(session, principal)
        if visible is not None and proposal.id not in visible:
            raise Forbidden(
                f"You are not a member of proposal {proposal.number}; ask its PI to add you."
            )
        return proposal

    def _sample_chain(
        self, session: Session, principal: Principal, sample_id: uuid.UUID
    ) -> tuple[Sample, Proposal]:
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise NotFound(f"Sample {sample_id} does not exist.")
        return sample, self.readable_proposal(session, principal, sample.proposal_id)

    def experiment_chain(
        self, session: Session, principal: Principal, experiment_id: uuid.UUID
    ) -> tuple[Experiment, Sample, Proposal]:
        experiment = session.get(Experiment, experiment_id)
        if experiment is None:
            raise NotFound(f"Experiment {experiment_id} does not exist.")
        sample, proposal = self._sample_chain(session, principal, experiment.sample_id)
        return experiment, sample, proposal

    # --- projects -----------------------------------------------------------------------------

    def create_project(self, principal: Principal, body: s.ProjectIn) -> Created:
        self.require_admin(principal)
        slug = slugify(body.name)
        with self.session() as session:
            return self._create(
                session,
                model=Project,
                requested_id=body.id,
                build=lambda new_id: Project(
                    id=new_id,
                    name=body.name,
                    slug=slug,
                    description=body.description,
                    created_by=principal.username,
                ),
                to_out=project_out,
                compare={"name": body.name, "description": body.description},
                entity="project",
                proposal_id_of=lambda row: None,
                find_duplicate=lambda ses: ses.scalar(
                    select(Project).where((Project.name == body.name) | (Project.slug == slug))
                ),
                duplicate_message=(
                    f"A project named {body.name!r} (or one whose short name is {slug!r}) "
                    "already exists; choose another name or use the existing project."
                ),
            )

    def list_projects(self, principal: Principal) -> list[s.ProjectOut]:
        with self.session() as session:
            query = select(Project).order_by(Project.name)
            visible = self.visible_proposal_ids(session, principal)
            if visible is not None:
                query = query.where(
                    Project.id.in_(
                        select(Proposal.project_id).where(Proposal.id.in_(visible or [None]))
                    )
                )
            return [project_out(row) for row in session.scalars(query)]

    def get_project(self, principal: Principal, project_id: uuid.UUID) -> s.ProjectOut:
        projects = {p.id: p for p in self.list_projects(principal)}
        if project_id in projects:
            return projects[project_id]
        with self.session() as session:
            if session.get(Project, project_id) is None:
                raise NotFound(f"Project {project_id} does not exist.")
        raise Forbidden("You are not a member of any proposal in this project.")

    def patch_project(
        self, principal: Principal, project_id: uuid.UUID, body: s.ProjectPatch
    ) -> s.ProjectOut:
        self.require_admin(principal)
        with self.session() as session:
            row = session.get(Project, project_id)
            if row is None:
                raise NotFound(f"Project {project_id} does not exist.")
            for field, value in body.model_dump(exclude_unset=True).items():
                if value is not None:
                    setattr(row, field, value)
            out = project_out(row)
            self.record_change(session, "project", row.id, "update", None, out)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise Conflict(
                    f"A project named {body.name!r} already exists.", field="name"
                ) from None
            return out

    # --- proposals ----------------------------------------------------------------------------

    def create_proposal(self, principal: Principal, body: s.ProposalIn) -> Created:
        self.require_admin(principal)
        with self.session() as session:
            project = session.get(Project, body.project)
            if project is None:
                raise NotFound(f"Project {body.project} does not exist.", field="project")
            number_slug = slugify(body.number, 40)
            members = list(dict.fromkeys(body.members))
            raw = bucket_name(self.settings.raw_prefix, project.slug, body.number)
            mirror = bucket_name(self.settings.mirror_prefix, project.slug, body.number)

            def build(new_id: uuid.UUID) -> Proposal:
                return Proposal(
                    id=new_id,
                    project_id=project.id,
                    number=body.number,
                    number_slug=number_slug,
                    pi_name=body.pi_name,
                    date=body.date,
                    title=body.title,
                    description=body.description,
                    raw_bucket=raw,
                    mirror_bucket=mirror,
                    created_by=principal.username,
                    members=[
                        ProposalMember(principal=name, position=i) for i, name in enumerate(members)
                    ],
                )

            # Buckets first (idempotent): a proposal row never points at a missing bucket.
            self.storage.ensure_bucket(raw)
            self.storage.ensure_bucket(mirror)
            out, created = self._create(
                session,
                model=Proposal,
                requested_id=body.id,
                build=build,
                to_out=proposal_out,
                compare={
                    "project": body.project,
                    "number": body.number,
                    "pi_name": body.pi_name,
                    "date": body.date,
                    "title": body.title,
                    "description": body.description,
                    "members": members,
                },
                entity="proposal",
                proposal_id_of=lambda row: row.id,
                find_duplicate=lambda ses: ses.scalar(
                    select(Proposal).where(
                        Proposal.project_id == body.project,
                        (Proposal.number == body.number) | (Proposal.number_slug == number_slug),
                    )
                ),
                duplicate_field="number",
                duplicate_message=(
                    f"Proposal {body.number!r} (or one with the same short form {number_slug!r}) "
                    f"already exists in project {project.name!r}."
                ),
            )
        if created:
            self._proposal_readme(out, principal.username)
        return out, created

    def _proposal_readme(self, out: s.ProposalOut, who: str) -> None:
        with self.session() as session:
            project = session.get(Project, out.project)
        fields = {
            "id": out.id,
            "project": project.name if project else "",
            "number": out.number,
            "title": out.title,
            "pi_name": out.pi_name,
            "date": out.date,
            "description": out.description,
            "members": out.members,
            "raw_bucket": out.raw_bucket,
            "mirror_bucket": out.mirror_bucket,
            "created_by": out.created_by,
            "created_at": out.created_at,
        }
        prefix = proposal_prefix(out.project_slug, out.number_slug)
        self.write_readme([out.raw_bucket, out.mirror_bucket], prefix, "proposal", fields, who)

    def list_proposals(
        self, principal: Principal, project_id: uuid.UUID | None
    ) -> list[s.ProposalOut]:
        with self.session() as session:
            query = select(Proposal).order_by(Proposal.number)
            if project_id is not None:
                query = query.where(Proposal.project_id == project_id)
            visible = self.visible_proposal_ids(session, principal)
            if visible is not None:
                query = query.where(Proposal.id.in_(visible or [None]))
            return [proposal_out(row) for row in session.scalars(query)]

    def get_proposal(self, principal: Principal, proposal_id: uuid.UUID) -> s.ProposalOut:
        with self.session() as session:
            return proposal_out(self.readable_proposal(session, principal, proposal_id))

    def patch_proposal(
        self, principal: Principal, proposal_id: uuid.UUID, body: s.ProposalPatch
    ) -> s.ProposalOut:
        self.require_admin(principal)
        with self.session() as session:
            row = session.get(Proposal, proposal_id)
            if row is None:
                raise NotFound(f"Proposal {proposal_id} does not exist.")
            changes = body.model_dump(exclude_unset=True)
            members = changes.pop("members", None)
            for field, value in changes.items():
                if value is not None or field == "date":
                    setattr(row, field, value)
            if members is not None:
                row.members = [
                    ProposalMember(principal=name, position=i)
                    for i, name in enumerate(dict.fromkeys(members))
                ]
            session.flush()
            out = proposal_out(row)
            self.record_change(session, "proposal", row.id, "update", row.id, out)
            session.commit()
        self._proposal_readme(out, principal.username)
        return out

    def ensure_buckets(self, principal: Principal, proposal_id: uuid.UUID) -> s.ProposalOut:
        """Admin repair: create missing buckets and rewrite every README of the proposal."""
        self.require_admin(principal)
        with self.session() as session:
            row = session.get(Proposal, proposal_id)
            if row is None:
                raise NotFound(f"Proposal {proposal_id} does not exist.")
            out = proposal_out(row)
            samples = list(session.scalars(select(Sample).where(Sample.proposal_id == row.id)))
            experiments = list(
                session.scalars(
                    select(Experiment).where(Experiment.sample_id.in_([x.id for x in samples]))
                )
            )
        self.storage.ensure_bucket(out.raw_bucket)
        self.storage.ensure_bucket(out.mirror_bucket)
        self._proposal_readme(out, principal.username)
        by_id = {x.id: x for x in samples}
        for sample in samples:
            self._sample_readme(sample_out(sample), principal.username)
        for experiment in experiments:
            self._experiment_readme(
                experiment_out(experiment), by_id[experiment.sample_id], principal.username
            )
        return out

    # --- samples ------------------------------------------------------------------------------

    def create_sample(self, principal: Principal, body: s.SampleIn) -> Created:
        self.require_writer(principal)
        try:
            atom_types = validate_atom_types(body.atom_types)
        except InvalidName as exc:
            raise Invalid(str(exc), field="atom_types") from None
        slug = slugify(body.name)
        with self.session() as session:
            proposal = self.readable_proposal(session, principal, body.proposal)
            out, created = self._create(
                session,
                model=Sample,
                requested_id=body.id,
                build=lambda new_id: Sample(
                    id=new_id,
                    proposal_id=proposal.id,
                    name=body.name,
                    slug=slug,
                    identifier=body.identifier,
                    preparation_date=body.preparation_date,
                    atom_types=atom_types,
                    physical_form=body.physical_form,
                    is_simulation=body.is_simulation,
                    description=body.description,
                    created_by=principal.username,
                ),
                to_out=sample_out,
                compare={
                    "proposal": body.proposal,
                    "name": body.name,
                    "identifier": body.identifier,
                    "preparation_date": body.preparation_date,
                    "atom_types": atom_types,
                    "physical_form": body.physical_form,
                    "is_simulation": body.is_simulation,
                    "description": body.description,
                },
                entity="sample",
                proposal_id_of=lambda row: row.proposal_id,
                find_duplicate=lambda ses: ses.scalar(
                    select(Sample).where(Sample.proposal_id == body.proposal, Sample.slug == slug)
                ),
                duplicate_message=(
                    f"A sample named {body.name!r} already exists in proposal {proposal.number}; "
                    "choose another name or add the experiment to the existing sample."
                ),
            )
        if created:
            self._sample_readme(out, principal.username)
        return out, created

    def _sample_readme(self, out: s.SampleOut, who: str) -> None:
        with self.session() as session:
            proposal = session.get(Proposal, out.proposal)
            fields = out.model_dump(exclude={"proposal"})
            fields = {"proposal": proposal.number, "project": proposal.project.name, **fields}
            prefix = sample_prefix(proposal, out.slug)
            buckets = [proposal.raw_bucket, proposal.mirror_bucket]
        self.write_readme(buckets, prefix, "sample", fields, who)

    def list_samples(self, principal: Principal, proposal_id: uuid.UUID) -> list[s.SampleOut]:
        with self.session() as session:
            self.readable_proposal(session, principal, proposal_id)
            rows = session.scalars(
                select(Sample).where(Sample.proposal_id == proposal_id).order_by(Sample.name)
            )
            return [sample_out(row) for row in rows]

    def get_sample(self, principal: Principal, sample_id: uuid.UUID) -> s.SampleOut:
        with self.session() as session:
            sample, _ = self._sample_chain(session, principal, sample_id)
            return sample_out(sample)

    def patch_sample(
        self, principal: Principal, sample_id: uuid.UUID, body: s.SamplePatch
    ) -> s.SampleOut:
        """Renaming keeps the slug: data already stored under the old prefix stays findable."""
        self.require_writer(principal)
        changes = body.model_dump(exclude_unset=True)
        if changes.get("atom_types") is not None:
            try:
                changes["atom_types"] = validate_atom_types(changes["atom_types"])
            except InvalidName as exc:
                raise Invalid(str(exc), field="atom_types") from None
        with self.session() as session:
            sample, _ = self._sample_chain(session, principal, sample_id)
            for field, value in changes.items():
                if value is not None or field == "preparation_date":
                    setattr(sample, field, value)
            out = sample_out(sample)
            self.record_change(session, "sample", sample.id, "update", sample.proposal_id, out)
            session.commit()
        self._sample_readme(out, principal.username)
        return out

    # --- experiments --------------------------------------------------------------------------

    def create_experiment(self, principal: Principal, body: s.ExperimentIn) -> Created:
        self.require_writer(principal)
        if body.start_time and body.end_time and body.end_time < body.start_time:
            raise Invalid("The experiment ends before it starts.", field="end_time")
        for name in ("start_time", "end_time"):
            value = getattr(body, name)
            if value is not None and value.tzinfo is None:
                raise Invalid(
                    f"{name} needs a time zone (e.g. 2026-05-01T09:30:00+02:00 or ...Z).",
                    field=name,
                )
        slug = slugify(body.name)
        with self.session() as session:
            sample, proposal = self._sample_chain(session, principal, body.sample)
            out, created = self._create(
                session,
                model=Experiment,
                requested_id=body.id,
                build=lambda new_id: Experiment(
                    id=new_id,
                    sample_id=sample.id,
                    name=body.name,
                    slug=slug,
                    description=body.description,
                    start_time=body.start_time,
                    end_time=body.end_time,
                    created_by=principal.username,
                ),
                to_out=experiment_out,
                compare={
                    "sample": body.sample,
                    "name": body.name,
                    "description": body.description,
                    "start_time": body.start_time,
                    "end_time": body.end_time,
                },
                entity="experiment",
                proposal_id_of=lambda row: proposal.id,
                find_duplicate=lambda ses: ses.scalar(
                    select(Experiment).where(
                        Experiment.sample_id == body.sample, Experiment.slug == slug
                    )
                ),
                duplicate_message=(
                    f"An experiment named {body.name!r} already exists for sample "
                    f"{sample.name!r}; choose another name or add to the existing experiment."
                ),
            )
        if created:
            self._experiment_readme(out, sample, principal.username)
        return out, created

    def _experiment_readme(self, out: s.ExperimentOut, sample: Sample, who: str) -> None:
        with self.session() as session:
            proposal = session.get(Proposal, sample.proposal_id)
            fields = {
                "project": proposal.project.name,
                "proposal": proposal.number,
                "sample": sample.name,
                "sample_identifier": sample.identifier,
                **out.model_dump(exclude={"sample"}),
            }
            prefix = experiment_prefix(proposal, sample, out.slug)
            buckets = [proposal.raw_bucket, proposal.mirror_bucket]
        self.write_readme(buckets, prefix, "experiment", fields, who)

    def list_experiments(self, principal: Principal, sample_id: uuid.UUID) -> list[s.ExperimentOut]:
        with self.session() as session:
            self._sample_chain(session, principal, sample_id)
            rows = session.scalars(
                select(Experiment)
                .where(Experiment.sample_id == sample_id)
                .order_by(Experiment.name)
            )
            return [experiment_out(row) for row in rows]

    def get_experiment(self, principal: Principal, experiment_id: uuid.UUID) -> s.ExperimentOut:
        with self.session() as session:
            experiment, _, _ = self.experiment_chain(session, principal, experiment_id)
            return experiment_out(experiment)

    def patch_experiment(
        self, principal: Principal, experiment_id: uuid.UUID, body: s.ExperimentPatch
    ) -> s.ExperimentOut:
        self.require_writer(principal)
        with self.session() as session:
            experiment, sample, proposal = self.experiment_chain(session, principal, experiment_id)
            for field, value in body.model_dump(exclude_unset=True).items():
                timed = field in ("start_time", "end_time")
                if timed and value is not None and value.tzinfo is None:
                    raise Invalid(f"{field} needs a time zone.", field=field)
                if value is not None or field in ("start_time", "end_time"):
                    setattr(experiment, field, value)
            if (
                experiment.start_time
                and experiment.end_time
                and experiment.end_time < experiment.start_time
            ):
                raise Invalid("The experiment ends before it starts.", field="end_time")
            out = experiment_out(experiment)
            self.record_change(session, "experiment", experiment.id, "update", proposal.id, out)
            session.commit()
        self._experiment_readme(out, sample, principal.username)
        return out

    # --- change feed --------------------------------------------------------------------------

    def changes(self, principal: Principal, since: int, limit: int) -> s.ChangesOut:
        with self.session() as session:
            query = select(Change).where(Change.rev > since).order_by(Change.rev).limit(limit)
            visible = self.visible_proposal_ids(session, principal)
            if visible is not None:
                query = query.where(
                    Change.proposal_id.in_(visible or [None]) | (Change.entity == "project")
                )
            rows = list(session.scalars(query))
            last = rows[-1].rev if rows else since
            if not rows:
                newest = session.scalar(select(Change.rev).order_by(Change.rev.desc()).limit(1))
                last = max(since, newest or 0) if visible is None else since
            return s.ChangesOut(
                changes=[
                    s.ChangeOut(rev=r.rev, entity=r.entity, id=r.entity_id, op=r.op, data=r.data)
                    for r in rows
                ],
                last_rev=last,
            )
