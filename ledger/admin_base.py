"""Admin building blocks shared by every app: read-only evidence, cheap counts on
huge tables, intermediate action forms and JSON downloads.

Here because ledger is the lowest layer: devices, analytics and coldchain
all build on it without importing each other.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import cached_property

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence: visible to staff, changed by nobody (superusers included)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    """Evidence shown under its parent: every listed field read-only, nothing added,
    changed or deleted from the parent's page."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        return tuple(self.fields)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: an exact count of millions of readings or log
    entries takes seconds on every page. Past the cap, filters narrow the list."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


class HugeTableAdmin(ReadOnlyAdmin):
    """Read-only evidence in a table too large to count or to scan for filter choices."""

    paginator = CappedCountPaginator
    show_full_result_count = False


def action_form_page(
    request: HttpRequest,
    *,
    model_admin: admin.ModelAdmin,
    queryset: QuerySet,
    form: forms.Form,
    action: str,
    title: str,
    submit: str,
) -> TemplateResponse:
    """The intermediate page of an admin action that needs input (a reason, a choice).

    It posts back to the changelist with the same action and selection plus
    ``apply``; the action then validates the form and acts.
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "objects": list(queryset),
        "form": form,
        "action": action,
        "submit": submit,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_form.html", context)


def json_download(document: dict, filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def json_zip_download(documents: dict[str, dict], filename: str) -> HttpResponse:
    """Several JSON documents in one zip archive, each under its file name."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, document in documents.items():
            zipped.writestr(name, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    response = HttpResponse(archive.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
