"""A small, believable demo: one municipality, its neighbourhoods and places, two committees,
an institution, one user per role and a few dozen reports over several weeks.

Fictional names on made-up boundaries; no network. Running it again changes nothing.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from community.models import Area, Committee, Institution, Membership, Place
from reports.models import Category, Report, TriageEvent
from reports.services import ArmsAnswers, report_create

DEMO_PASSWORD = "convive-demo"  # noqa: S105 - printed on purpose; demo mode only
COLUMNS = [-88.06, -88.02, -87.98, -87.94]
ROWS = [15.46, 15.50, 15.54]
# Interior grid corners nudged so the neighbourhoods do not look like a chessboard.
NUDGE = {(1, 1): (0.006, -0.004), (2, 1): (-0.005, 0.005)}
COMMUNITIES = [
    ("Las Flores", 3400),
    ("Centro", 5200),
    ("Santa Rosa", 2800),
    ("La Ceiba", 4100),
    ("El Carmen", 3900),
    ("Buenos Aires", 2300),
]
PLACES = [
    ("Parque Central", ["El Parque", "Plaza"], 1, (-88.000, 15.482)),
    ("Mercado Municipal", ["El Mercado"], 1, (-88.006, 15.476)),
    ("Escuela Las Flores", ["La Escuela"], 0, (-88.045, 15.474)),
    ("Cancha La Ceiba", ["La Cancha"], 3, (-88.041, 15.522)),
    ("Iglesia El Carmen", ["La Iglesia"], 4, (-87.999, 15.521)),
    ("Puente Santa Rosa", ["El Puente"], 2, (-87.958, 15.478)),
    ("Terminal de Buses", ["La Terminal", "Terminal"], 1, (-88.012, 15.489)),
    ("Centro de Salud Buenos Aires", ["Centro de Salud"], 5, (-87.957, 15.522)),
    ("Predio Baldío Calle 8", ["El Baldío"], 4, (-87.985, 15.512)),
]
DESCRIPTIONS = {
    "armed_person": "Un hombre con pistola en la cintura frente a la pulpería, varias noches seguidas.",
    "gunfire": "Se escucharon varios disparos cerca de la cancha alrededor de las 10 de la noche.",
    "arms_cache": "Vecinos vieron que guardan armas en una casa abandonada junto al río.",
    "assault": "Golpearon a un muchacho a la salida del colegio.",
    "threats_extortion": "Están cobrando 'renta' a los buses y a las pulperías de la calle principal.",
    "robbery": "Asaltaron a una señora en la parada de buses con cuchillo.",
    "burglary_theft": "Entraron a robar a dos casas mientras las familias estaban en el trabajo.",
    "drug_dealing": "Venta de droga todas las tardes en la esquina del parque.",
    "unsafe_place": "La calle no tiene alumbrado desde hace un mes y el predio está lleno de monte.",
    "harassment": "Acosan a las muchachas que pasan por el puente de regreso de la escuela.",
    "partner_violence": "Se oyen gritos y golpes en una casa casi todas las noches.",
}


def _grid_corner(i: int, j: int) -> tuple[float, float]:
    dx, dy = NUDGE.get((i, j), (0.0, 0.0))
    return COLUMNS[i] + dx, ROWS[j] + dy


def _cell(i: int, j: int) -> MultiPolygon:
    ring = [_grid_corner(i, j), _grid_corner(i + 1, j), _grid_corner(i + 1, j + 1), _grid_corner(i, j + 1)]
    return MultiPolygon(Polygon([*ring, ring[0]]), srid=4326)


def _multi(geometry) -> MultiPolygon:
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon(geometry, srid=4326)


class Command(BaseCommand):
    help = "Load the demo municipality, committees, users and reports (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reports", type=int, default=48, help="How many demo reports (default 48).")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            help="Also this many synthetic validated reports over two years (generate_reports), for the "
            "insights dashboard and early warning; topped up, never added twice.",
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not settings.DEMO_MODE:
            # The demo logins have a published password: never on a real deployment.
            raise CommandError("seed_demo runs only with DEMO_MODE=1.")
        communities = self._geography()
        users = self._people(communities)
        created = self._reports(communities, users, options["reports"], random.Random(options["seed"]))
        created += self._history(communities, options["reports"] + options["history"], options["seed"])
        self.stdout.write(self.style.SUCCESS(f"Demo ready: {len(communities)} communities, {created} new reports."))
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for role, user in users.items():
            self.stdout.write(f"  {role:<26} {user.username}")

    def _area(self, code: str, **fields) -> Area:
        area, _ = Area.objects.update_or_create(code=code, defaults=fields)
        return area

    def _geography(self) -> list[Area]:
        cells = [_cell(i, j) for j in range(2) for i in range(3)]
        union = cells[0]
        for cell in cells[1:]:
            union = union.union(cell)
        country = self._area(
            "DEMO", name="País de demostración", level=Area.Level.COUNTRY, boundary=_multi(union.buffer(0.6))
        )
        region = self._area(
            "DEMO-01",
            name="Departamento del Norte",
            level=Area.Level.REGION,
            boundary=_multi(union.buffer(0.2)),
            parent=country,
        )
        municipality = self._area(
            "DEMO-0101",
            name="San Isidro del Valle",
            level=Area.Level.MUNICIPALITY,
            boundary=_multi(union),
            parent=region,
            population=sum(p for _, p in COMMUNITIES),
        )
        communities = [
            self._area(
                f"DEMO-0101-{n + 1:02d}",
                name=name,
                level=Area.Level.COMMUNITY,
                boundary=cell,
                boundary_display=cell,
                parent=municipality,
                population=population,
            )
            for n, ((name, population), cell) in enumerate(zip(COMMUNITIES, cells, strict=True))
        ]
        for name, aliases, index, (x, y) in PLACES:
            Place.objects.update_or_create(
                name=name, defaults={"aliases": aliases, "point": Point(x, y, srid=4326), "area": communities[index]}
            )
        return communities

    def _user(self, username: str, **extra):
        user, created = get_user_model().objects.get_or_create(username=username, defaults=extra)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _people(self, communities: list[Area]) -> dict:
        north, _ = Committee.objects.get_or_create(name="Comité de Convivencia Norte")
        north.areas.add(*communities[:3])
        south, _ = Committee.objects.get_or_create(name="Comité de Convivencia Sur")
        south.areas.add(*communities[3:])
        users = {
            "administrator": self._user("admin", is_staff=True, is_superuser=True),
            "committee member (Norte)": self._user("comite.norte"),
            "committee member (Sur)": self._user("comite.sur"),
            "institution analyst": self._user("analista"),
        }
        Membership.objects.get_or_create(user=users["committee member (Norte)"], committee=north)
        Membership.objects.get_or_create(user=users["committee member (Sur)"], committee=south)
        institution, _ = Institution.objects.get_or_create(name="Secretaría de Seguridad — Departamento del Norte")
        institution.jurisdiction.add(communities[0].parent.parent)
        institution.analysts.add(users["institution analyst"])
        return users

    def _reports(self, communities: list[Area], users: dict, count: int, rng: random.Random) -> int:
        existing = Report.objects.filter(area__in=communities).count()
        if existing >= count:
            return 0
        categories = {c.code: c for c in Category.objects.filter(code__in=DESCRIPTIONS)}
        codes = sorted(categories)
        for _ in tqdm(range(count - existing), desc="demo reports", unit="report", disable=None):
            self._report(rng, communities, categories[rng.choice(codes)], users)
        return count - existing

    def _history(self, communities: list[Area], wanted: int, seed: int) -> int:
        missing = wanted - Report.objects.filter(area__in=communities).count()
        if missing <= 0:
            return 0
        call_command("generate_reports", count=missing, seed=seed, areas=["DEMO-0101"], weeks=104, stdout=self.stdout)
        return missing

    def _report(self, rng: random.Random, communities: list[Area], category: Category, users: dict) -> Report:
        community = rng.choice(communities)
        centre = community.boundary.point_on_surface
        point = Point(centre.x + rng.uniform(-0.008, 0.008), centre.y + rng.uniform(-0.008, 0.008), srid=4326)
        # About one in five is fresh, so the committees have new reports to triage.
        days = rng.uniform(0.1, 2.5) if rng.random() < 0.2 else rng.uniform(0.5, 56)
        when = timezone.now() - timedelta(days=days)
        arms = None
        if category.is_arms:
            arms = ArmsAnswers(
                weapon_type=rng.choice(["handgun", "handgun", "long_gun", "craft", "unknown"]),
                weapon_count=rng.choice(["1", "2-5", "unknown"]),
                activity=rng.choice(["carried", "brandished", "fired", "stored"]),
                people_count=rng.choice(["1", "2-5"]),
            )
        report = report_create(
            category=category,
            description=DESCRIPTIONS[category.code],
            occurred_at=when,
            location=point if community.boundary.covers(point) else centre,
            location_source=rng.choice(["map", "map", "gps", "place"]),
            channel=rng.choice(["web", "web", "sms", "whatsapp"]),
            affected_sex=rng.choice(["", "female", "male"]),
            affected_age_band=rng.choice(["", "15-17", "18-29", "30-59"]),
            arms=arms,
            language="es",
        )
        received = min(when + timedelta(hours=rng.uniform(0.2, 12)), timezone.now())
        Report.objects.filter(pk=report.pk).update(created_at=received)
        report.events.update(at=received)
        self._triage(report, received, rng, users)
        return report

    def _triage(self, report: Report, received, rng: random.Random, users: dict) -> None:
        """Move older reports along the status path, as a committee would have."""
        age = timezone.now() - received
        path = ["verified"]
        if age > timedelta(days=14) and rng.random() < 0.5:
            path += ["in_action"] + (["resolved"] if age > timedelta(days=28) else [])
        elif rng.random() < 0.15:
            path = ["rejected"]
        if age < timedelta(days=3):
            return
        member = (
            users["committee member (Norte)"] if report.area.code <= "DEMO-0101-03" else users["committee member (Sur)"]
        )
        previous, at = report.status, received
        for status in path:
            at = min(at + timedelta(days=rng.uniform(0.5, 4)), timezone.now())
            TriageEvent.objects.create(report=report, actor=member, from_status=previous, to_status=status, at=at)
            previous = status
        Report.objects.filter(pk=report.pk).update(status=previous)
