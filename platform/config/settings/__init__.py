"""Settings split: `base` holds what every deployment shares; `local`, `test` and `production` adjust it.

Every deployment-specific value comes from the environment (see the README's configuration table).
"""
