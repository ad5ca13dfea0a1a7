"""On PostgreSQL, every change of a target's status sends NOTIFY on the channel `target_<id>` (payload: the new
status) when its transaction commits; the target detail's long poll LISTENs there instead of polling the table."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION localization_target_status_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('target_' || NEW.id, NEW.status);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER localization_target_status_notify
    AFTER UPDATE OF status ON localization_target
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION localization_target_status_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS localization_target_status_notify ON localization_target;
DROP FUNCTION IF EXISTS localization_target_status_notify();
"""


def _on_postgresql(sql: str):  # noqa: ANN202
    def run(apps, schema_editor) -> None:  # noqa: ANN001
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("localization", "0001_initial")]
    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
