"""Page views: they check who may see the page and hand the ids to the page's module; data comes from the API."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from missions.selectors import missions_for


def _mission_or_404(request: HttpRequest, mission_id: int) -> object:
    """The mission when one of the user's teams owns it; another team's mission is as absent as a missing one."""
    mission = missions_for(request.user).filter(pk=mission_id).first()
    if mission is None:
        raise Http404("no such mission")
    return mission


@login_required
def missions_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/missions.html", {"page": "missions"})


@login_required
def workspace_page(request: HttpRequest, mission_id: int) -> HttpResponse:
    mission = _mission_or_404(request, mission_id)
    return render(request, "frontend/workspace.html", {"page": "workspace", "mission": mission})


@login_required
def review_page(request: HttpRequest, mission_id: int) -> HttpResponse:
    mission = _mission_or_404(request, mission_id)
    return render(request, "frontend/review.html", {"page": "review", "mission": mission})


@login_required
def console_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/console.html", {"page": "console"})


@login_required
def tokens_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/tokens.html", {"page": "tokens"})
