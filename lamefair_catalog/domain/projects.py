"""Projects: created and changed by admins; readers see the projects of their proposals."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lamefair_catalog.database.models import Project, Proposal
from lamefair_catalog.domain.access import (
    Principal,
    existing,
    require_admin,
    visible_proposal_ids,
)
from lamefair_catalog.domain.catalog import Catalog
from lamefair_catalog.domain.change_feed import record_change
from lamefair_catalog.domain.creation import Created, create_entity
from lamefair_catalog.domain.errors import Conflict, Forbidden, NotFound
from lamefair_catalog.domain.outputs import project_out
from lamefair_catalog.schemas import hierarchy as h
from lamefair_catalog.shared import slugify


def create_project(catalog: Catalog, principal: Principal, body: h.ProjectIn) -> Created:
    require_admin(principal)
    slug = slugify(body.name)
    with catalog.session() as session:
        return create_entity(
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
            proposal_id=lambda new_id: None,
            find_duplicate=lambda ses: ses.scalar(
                select(Project).where((Project.name == body.name) | (Project.slug == slug))
            ),
            duplicate_message=(
                f"A project named {body.name!r} (or one whose short name is {slug!r}) "
                "already exists; choose another name or use the existing project."
            ),
        )


def list_projects(catalog: Catalog, principal: Principal) -> list[h.ProjectOut]:
    with catalog.session() as session:
        query = select(Project).order_by(Project.name)
        visible = visible_proposal_ids(session, principal)
        if visible is not None:
            query = query.where(
                Project.id.in_(
                    select(Proposal.project_id).where(Proposal.id.in_(visible or [None]))
                )
            )
        return [project_out(row) for row in session.scalars(query)]


def get_project(catalog: Catalog, principal: Principal, project_id: uuid.UUID) -> h.ProjectOut:
    projects = {p.id: p for p in list_projects(catalog, principal)}
    if project_id in projects:
        return projects[project_id]
    with catalog.session() as session:
        if session.get(Project, project_id) is None:
            raise NotFound(f"Project {project_id} does not exist.")
    raise Forbidden("You are not a member of any proposal in this project.")


def patch_project(
    catalog: Catalog, principal: Principal, project_id: uuid.UUID, body: h.ProjectPatch
) -> h.ProjectOut:
    require_admin(principal)
    with catalog.session() as session:
        row = existing(session, Project, project_id, "Project")
        for field, value in body.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(row, field, value)
        out = project_out(row)
        record_change(session, "project", row.id, "update", None, out)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict(f"A project named {body.name!r} already exists.", field="name") from None
        return out
