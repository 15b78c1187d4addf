from django.contrib import admin

from coldchain.models import Membership, Party


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    inlines = [MembershipInline]
    list_display = ("name", "slug", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "slug")

    # Contract terms name parties by slug: it stays as created.
    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return ("slug",) if obj is not None else ()

    def get_prepopulated_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return {"slug": ("name",)} if obj is None else {}


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "party", "role")
    list_filter = ("role", "party__kind")
    search_fields = ("user__username", "user__first_name", "user__last_name", "party__name")
    autocomplete_fields = ("user", "party")
    list_select_related = ("user", "party")
