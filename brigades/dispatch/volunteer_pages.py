"""The volunteer's answers on the web: accept or decline an offer, check in, finish, cancel,
report a problem. The same service functions as the SMS words, so a web click and an SMS at the
same moment meet the same row locks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from brigades import clock
from brigades.deps import SessionDep, SettingsDep
from brigades.dispatch import acceptance, volunteer_view
from brigades.errors import NotFound
from brigades.volunteers.deps import CheckedForm, PageVolunteer

router = APIRouter(include_in_schema=False)

LOGIN = "/link-aanvragen"
NOT_YOURS = "Dit verzoek of deze taak hoort niet bij jou (of bestaat niet meer)."
MAX_PROBLEM = 500


def _back(outcome: str) -> Response:
    return RedirectResponse(f"/mijn?taak={outcome}#taken", status_code=303)


@router.post("/mijn/aanbod/{offer_id}/{answer}")
def answer_offer(
    offer_id: int,
    answer: str,
    form_data: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    volunteer: PageVolunteer,
) -> Response:
    """JA or NEE to an offer, from the personal page."""
    if volunteer is None:
        return RedirectResponse(LOGIN, status_code=303)
    if answer not in ("ja", "nee") or not volunteer_view.owns_offer(
        session, volunteer=volunteer, offer_id=offer_id
    ):
        raise NotFound(NOT_YOURS)
    act = acceptance.accept if answer == "ja" else acceptance.decline
    result = act(session, offer_id=offer_id, via="web", settings=settings, now=clock.now())
    if result.outcome is acceptance.Outcome.ACCEPTED:
        from brigades.conversation import service as questions
        from brigades.dispatch import repository

        questions.close_questions_for_subject(
            session, subject_kind=repository.OFFER_SUBJECT, subject_id=offer_id, now=clock.now()
        )
        if result.drill:
            return _back("geoefend")
    return _back(result.outcome.value)


@router.post("/mijn/inzet/{assignment_id}/{step}")
def assignment_step(
    assignment_id: int,
    step: str,
    form_data: CheckedForm,
    session: SessionDep,
    volunteer: PageVolunteer,
) -> Response:
    """Arrived, done, cancel or a problem report for one of the volunteer's assignments."""
    if volunteer is None:
        return RedirectResponse(LOGIN, status_code=303)
    if not volunteer_view.owns_assignment(
        session, volunteer=volunteer, assignment_id=assignment_id
    ):
        raise NotFound(NOT_YOURS)
    now = clock.now()
    if step == "aangekomen":
        result = acceptance.check_in(session, assignment_id=assignment_id, via="web", now=now)
    elif step == "klaar":
        result = acceptance.finish(session, assignment_id=assignment_id, via="web", now=now)
    elif step == "afzeggen":
        result = acceptance.cancel(session, assignment_id=assignment_id, via="web", now=now)
    elif step == "probleem":
        raw = form_data.get("problem")
        text = raw.strip()[:MAX_PROBLEM] if isinstance(raw, str) else ""
        if text:
            acceptance.report_problem(
                session,
                assignment_id=assignment_id,
                volunteer_id=volunteer.id or 0,
                text=text,
                now=now,
            )
        return _back("probleem" if text else "leeg")
    else:
        raise NotFound(NOT_YOURS)
    return _back(result.outcome.value)
