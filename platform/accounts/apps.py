from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and roles"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from accounts import login_throttle

        user_login_failed.connect(login_throttle.on_login_failed, dispatch_uid="login-throttle-failed")
        user_logged_in.connect(login_throttle.on_logged_in, dispatch_uid="login-throttle-logged-in")
