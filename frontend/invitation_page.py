"""/invite/<key>/: where an invited person sets their password. A plain form (no script): the page names the team,
the role and the username; a good password makes the account and the membership, logs the person in and opens
Models & team. A used, expired or withdrawn link says so and what to do."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.invitations import invitation_accept, invitation_for_key
from core.errors import DomainError

TEMPLATE = "frontend/invitation.html"


def invitation_page(request: HttpRequest, key: str) -> HttpResponse:
    try:
        invitation = invitation_for_key(key)
    except DomainError as error:
        return render(request, TEMPLATE, {"page": "invitation", "refused": error.message}, status=error.status_code)
    context = {"page": "invitation", "invitation": invitation}
    if request.method != "POST":
        return render(request, TEMPLATE, context)
    password = request.POST.get("password", "")
    if password != request.POST.get("password_again", ""):
        context["error"] = "The two passwords differ: type the same password twice."
        return render(request, TEMPLATE, context, status=400)
    try:
        user = invitation_accept(key=key, password=password)
    except DomainError as error:
        context["error"] = error.message
        return render(request, TEMPLATE, context, status=error.status_code)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    return redirect(f"{reverse('console-page')}?team={invitation.team_id}")
