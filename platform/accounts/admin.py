from django.contrib import admin

from accounts.models import ApiToken, Invitation, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "active_model", "auto_promote", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are made from Models & team (the link is shown there once); here they can be seen or deleted."""

    list_display = ["username", "team", "role", "created_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "team"]
    search_fields = ["username", "team__name"]
    readonly_fields = ["key_hash", "created_by", "created_at", "accepted_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Users make their tokens on their API tokens page; a site admin can revoke one here (delete it)."""

    list_display = ["user", "name", "prefix", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request: object) -> bool:
        return False  # a token made here would have no key anyone could see: users make their own
