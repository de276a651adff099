from django.db import migrations


def backfill(apps, schema_editor):
    Area = apps.get_model("community", "Area")
    Report = apps.get_model("reports", "Report")
    parents = dict(Area.objects.values_list("id", "parent_id"))
    for area_id in Report.objects.filter(area_path=[]).values_list("area_id", flat=True).distinct():
        path, node = [], area_id
        while node is not None:
            path.append(node)
            node = parents.get(node)
        Report.objects.filter(area_id=area_id, area_path=[]).update(area_path=path)


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_auditentry_note_report_action_plan_report_area_path_and_more")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
