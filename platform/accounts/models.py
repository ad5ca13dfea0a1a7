from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    """Each role can do what the roles before it can: operator < reviewer < admin."""

    OPERATOR = "operator", "operator"
    REVIEWER = "reviewer", "reviewer"
    ADMIN = "admin", "admin"


ROLE_RANK = {Role.OPERATOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    active_model = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the model version new clicks of this team run on",
    )
    auto_promote = models.BooleanField(
        default=False, help_text="activate a fine-tuned version by itself when it beats its base on val acc@0.5"
    )

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"


class Invitation(models.Model):
    """A one-time link for a new person: it lets them set their password, then joins them to the team with the role.
    Only a hash of the link's key is stored; the link is shown once, to the admin who made it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    username = models.CharField(max_length=150, help_text="the username the new account will have")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OPERATOR)
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the link's key, hex")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation of {self.username} to {self.team} as {self.role}"


class ApiToken(models.Model):
    """A named token a user made for their scripts (`Authorization: Token <key>`). Only a hash of the key is stored;
    the key is shown once, when it is made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, help_text="the key's first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the key, hex")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_token_name_per_user")]

    def __str__(self) -> str:
        return f"{self.user}'s token {self.name} ({self.prefix}…)"
