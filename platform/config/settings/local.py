"""Settings for a developer's machine (`make run`): debug on, embedded defaults."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
