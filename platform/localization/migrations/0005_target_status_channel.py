"""On PostgreSQL, a target's status change NOTIFYs one channel for all targets, `target_status`, with the payload
`<id> <status>`: a web process LISTENs once for every waiting long poll (localization/status_listener.py) instead
of once per target on `target_<id>`."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION localization_target_status_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify({channel}, {payload});
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
ONE_CHANNEL = FUNCTION.format(channel="'target_status'", payload="NEW.id || ' ' || NEW.status")
CHANNEL_PER_TARGET = FUNCTION.format(channel="'target_' || NEW.id", payload="NEW.status")


def _on_postgresql(sql: str):  # noqa: ANN202
    def run(apps, schema_editor) -> None:  # noqa: ANN001
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("localization", "0004_prediction_margin")]
    operations = [migrations.RunPython(_on_postgresql(ONE_CHANNEL), _on_postgresql(CHANNEL_PER_TARGET))]
