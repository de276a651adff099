"""The categories residents choose from, with stable codes, ICCS codes and five languages."""

from django.db import migrations

# code, ICCS, group, arms, sensitive, {en, es, fr, ht, pt}
CATEGORIES = [
    ("armed_person", "090111", "arms", True, False, {
        "en": "Armed person or weapon seen", "es": "Persona armada o arma vista",
        "fr": "Personne armée ou arme vue", "ht": "Moun ak zam oswa zam yo wè",
        "pt": "Pessoa armada ou arma avistada"}),
    ("gunfire", "090111", "arms", True, False, {
        "en": "Gunfire", "es": "Disparos", "fr": "Coups de feu", "ht": "Tire zam", "pt": "Disparos"}),
    ("arms_cache", "090112", "arms", True, False, {
        "en": "Arms cache or trafficking", "es": "Escondite o tráfico de armas",
        "fr": "Cache ou trafic d'armes", "ht": "Kachèt oswa trafik zam", "pt": "Esconderijo ou tráfico de armas"}),
    ("killing", "0101", "lethal", False, False, {
        "en": "Killing", "es": "Homicidio", "fr": "Homicide", "ht": "Asasina", "pt": "Homicídio"}),
    ("assault", "02011", "violence", False, False, {
        "en": "Assault", "es": "Agresión", "fr": "Agression", "ht": "Atak sou moun", "pt": "Agressão"}),
    ("threats_extortion", "0205", "violence", False, False, {
        "en": "Threats or extortion", "es": "Amenazas o extorsión", "fr": "Menaces ou extorsion",
        "ht": "Menas oswa ekstòsyon", "pt": "Ameaças ou extorsão"}),
    ("kidnapping", "020221", "violence", False, False, {
        "en": "Kidnapping or disappearance", "es": "Secuestro o desaparición",
        "fr": "Enlèvement ou disparition", "ht": "Kidnapin oswa disparisyon",
        "pt": "Sequestro ou desaparecimento"}),
    ("partner_violence", "02011", "gender", False, True, {
        "en": "Intimate-partner or family violence", "es": "Violencia de pareja o intrafamiliar",
        "fr": "Violence conjugale ou familiale", "ht": "Vyolans nan koup oswa nan fanmi",
        "pt": "Violência doméstica ou de parceiro íntimo"}),
    ("sexual_violence", "0301", "gender", False, True, {
        "en": "Sexual violence", "es": "Violencia sexual", "fr": "Violence sexuelle",
        "ht": "Vyolans seksyèl", "pt": "Violência sexual"}),
    ("harassment", "0208", "violence", False, False, {
        "en": "Harassment", "es": "Acoso", "fr": "Harcèlement", "ht": "Arasman", "pt": "Assédio"}),
    ("robbery", "0401", "property", False, False, {
        "en": "Robbery", "es": "Robo con violencia", "fr": "Vol avec violence",
        "ht": "Vòl ak vyolans", "pt": "Roubo"}),
    ("burglary_theft", "0501", "property", False, False, {
        "en": "Burglary or theft", "es": "Robo en vivienda o hurto", "fr": "Cambriolage ou vol",
        "ht": "Kase kay oswa vòl", "pt": "Arrombamento ou furto"}),
    ("drug_dealing", "06012", "drugs", False, False, {
        "en": "Drug dealing", "es": "Venta de drogas", "fr": "Trafic de drogue",
        "ht": "Vann dwòg", "pt": "Venda de drogas"}),
    ("unsafe_place", "", "environment", False, False, {
        "en": "Unsafe place (lighting, abandoned lot)", "es": "Lugar inseguro (alumbrado, predio abandonado)",
        "fr": "Lieu dangereux (éclairage, terrain abandonné)", "ht": "Kote ki danjere (limyè, teren abandone)",
        "pt": "Local inseguro (iluminação, terreno abandonado)"}),
    ("other", "", "other", False, False, {
        "en": "Other", "es": "Otro", "fr": "Autre", "ht": "Lòt bagay", "pt": "Outro"}),
]


def load(apps, schema_editor):
    Category = apps.get_model("reports", "Category")
    for order, (code, iccs, group, is_arms, sensitive, names) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            code=code,
            defaults={
                "iccs_code": iccs,
                "group": group,
                "is_arms": is_arms,
                "is_sensitive": sensitive,
                "names": names,
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
