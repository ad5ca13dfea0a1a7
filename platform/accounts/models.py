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
