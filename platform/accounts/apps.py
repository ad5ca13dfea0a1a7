from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and roles"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_save, pre_save

        from accounts import api_tokens, login_throttle

        user_login_failed.connect(login_throttle.on_login_failed, dispatch_uid="login-throttle-failed")
        user_logged_in.connect(login_throttle.on_logged_in, dispatch_uid="login-throttle-logged-in")
        users = get_user_model()
        pre_save.connect(api_tokens.note_password_change, sender=users, dispatch_uid="tokens-password-noted")
        post_save.connect(api_tokens.revoke_tokens_on_password_change, sender=users, dispatch_uid="tokens-password")
