"""Web pages of the generation app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import org_required


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


@org_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html", {"organization": request.membership.organization})
