"""Billing routes. Mount them in videogen/urls.py as:

path("billing/", include((billing_urls.web_urlpatterns, "billing"))),
path("api/v1/", include(billing_urls.api_urlpatterns)),
"""

from __future__ import annotations

from django.urls import path

from billing import api, views

web_urlpatterns = [
    path("", views.billing_home, name="home"),
    path("ledger.csv", views.ledger_csv, name="ledger-csv"),
    path("buy/", views.topup_start, name="buy"),
    path("settings/", views.settings_update, name="settings"),
    path("topups/<str:public_id>/success/", views.topup_return, {"outcome": "success"}, name="topup-success"),
    path("topups/<str:public_id>/receipt/", views.topup_receipt, name="topup-receipt"),
    path("topups/<str:public_id>/canceled/", views.topup_return, {"outcome": "canceled"}, name="topup-canceled"),
    path("stripe/webhook", views.stripe_webhook, name="stripe-webhook"),
]

api_urlpatterns = [
    path("balance", api.BalanceView.as_view(), name="api-balance"),
    path("ledger", api.LedgerView.as_view(), name="api-ledger"),
    path("pricing", api.PricingView.as_view(), name="api-pricing"),
]
