"""One router per resource of the API: a school's pupils, a pupil, follow-up plans, the model,
administration, health. Routes take an :class:`~serving.api.service.AccessContext` and call the
service layer; a role is a route's dependency (:func:`serving.api.deps.require_role`), never a
check in its body."""

from fastapi import APIRouter

from serving.api.routers import admin, explanation, health, model, plans, pupils, rights, schools

#: In the order the OpenAPI document lists them.
ROUTERS: tuple[APIRouter, ...] = (
    schools.router,
    pupils.router,
    explanation.router,
    model.router,
    admin.router,
    plans.router,
    rights.router,
    health.router,
)

__all__ = ["ROUTERS"]
