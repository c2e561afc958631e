"""Static reference data of the synthetic registry: hospitals, municipalities, DRG/DAGS
groups and tariffs, implants, and the diagnosis and procedure codes of ordinary life.

Names of hospitals and municipalities are real; SHAK codes follow the regional
numbering (1xxx/2xxx Hovedstaden, 3xxx Sjælland, 4xxx/5xxx Syddanmark, 6xxx/7xxx
Midtjylland, 8xxx Nordjylland; private hospitals carry their region's digit then ``P``)
but are illustrative, not official.  DRG/DAGS codes follow the DkDRG format and their
2016 tariffs approximate the takstsystem 2016 levels (primary hip/knee DRG 44-69k DKK,
outpatient DAGS 1.5-3k DKK); they are not the official groups.  Diagnosis and procedure
codes that define the pathway come from ``pipelines/codelists.yaml`` (see
:func:`pathway_codes`); the codes here are the ordinary-life codes that must *not*
match any pathway list, which :func:`check_background_codes` verifies.
"""

from __future__ import annotations

from dataclasses import dataclass

from vbhc.core.codelists import CodeLists

REGIONS: dict[int, str] = {
    1081: "Nordjylland",
    1082: "Midtjylland",
    1083: "Syddanmark",
    1084: "Hovedstaden",
    1085: "Sjælland",
}


@dataclass(frozen=True)
class Hospital:
    code: str
    name: str
    region: int
    ownership: str  # public / private
    volume_weight: float  # relative yearly elective arthroplasty volume


# Ordered so that the first k hospitals cover every region for k >= 5 (--hospitals k).
HOSPITALS: tuple[Hospital, ...] = (
    Hospital("8001", "Aalborg Universitetshospital, Farsø", 1081, "public", 950),
    Hospital("6630", "Regionshospitalet Silkeborg", 1082, "public", 1400),
    Hospital("4202", "Odense Universitetshospital", 1083, "public", 800),
    Hospital("1330", "Herlev og Gentofte Hospital", 1084, "public", 1500),
    Hospital("3800", "Sjællands Universitetshospital, Køge", 1085, "public", 750),
    Hospital("1516", "Hvidovre Hospital", 1084, "public", 1100),
    Hospital("6620", "Aarhus Universitetshospital", 1082, "public", 450),
    Hospital("5005", "Sygehus Lillebælt, Vejle", 1083, "public", 850),
    Hospital("8003", "Sygehus Vendsyssel, Frederikshavn", 1081, "public", 400),
    Hospital("7005", "Regionshospitalet Horsens", 1082, "public", 500),
    Hospital("3750", "Næstved, Slagelse og Ringsted Sygehuse", 1085, "public", 600),
    Hospital("1309", "Bispebjerg og Frederiksberg Hospital", 1084, "public", 450),
    Hospital("5501", "Sydvestjysk Sygehus, Grindsted", 1083, "public", 550),
    Hospital("6610", "Hospitalsenheden Vest, Holstebro", 1082, "public", 500),
    Hospital("1P01", "Aleris-Hamlet Hospitaler, Søborg", 1084, "private", 380),
    Hospital("5P01", "Privathospitalet Mølholm, Vejle", 1083, "private", 300),
    Hospital("1P02", "Capio CFR Hospitaler, Hellerup", 1084, "private", 260),
    Hospital("1401", "Nordsjællands Hospital, Hillerød", 1084, "public", 520),
    Hospital("3003", "Holbæk Sygehus", 1085, "public", 350),
    Hospital("6P01", "Aleris-Hamlet Hospitaler, Aarhus", 1082, "private", 200),
    Hospital("1301", "Rigshospitalet", 1084, "public", 110),
    Hospital("7601", "Regionshospitalet Randers", 1082, "public", 350),
    Hospital("7801", "Regionshospitalet Viborg", 1082, "public", 300),
    Hospital("4204", "OUH Svendborg Sygehus", 1083, "public", 400),
    Hospital("5701", "Sygehus Sønderjylland, Aabenraa", 1083, "public", 350),
    Hospital("8041", "Sygehus Thy-Mors, Thisted", 1081, "public", 150),
    Hospital("1P03", "Kysthospitalet, Skodsborg", 1084, "private", 180),
)
MIN_HOSPITALS = 5

# Municipality code -> (region, population in thousands, approx. 2016; Danmarks Statistik).
MUNICIPALITIES: dict[int, tuple[int, float]] = {
    101: (1084, 591), 147: (1084, 104), 151: (1084, 48), 153: (1084, 35), 155: (1084, 14),
    157: (1084, 75), 159: (1084, 68), 161: (1084, 22), 163: (1084, 28), 165: (1084, 28),
    167: (1084, 53), 169: (1084, 50), 173: (1084, 55), 175: (1084, 40), 183: (1084, 22),
    185: (1084, 43), 187: (1084, 16), 190: (1084, 40), 201: (1084, 25), 210: (1084, 40),
    217: (1084, 62), 219: (1084, 50), 223: (1084, 25), 230: (1084, 56), 240: (1084, 43),
    250: (1084, 45), 260: (1084, 31), 270: (1084, 41), 400: (1084, 40),
    253: (1085, 49), 259: (1085, 59), 265: (1085, 86), 269: (1085, 22), 306: (1085, 33),
    316: (1085, 70), 320: (1085, 36), 326: (1085, 49), 329: (1085, 34), 330: (1085, 78),
    336: (1085, 22), 340: (1085, 30), 350: (1085, 27), 360: (1085, 43), 370: (1085, 82),
    376: (1085, 62), 390: (1085, 45),
    410: (1083, 38), 420: (1083, 41), 430: (1083, 51), 440: (1083, 24), 450: (1083, 32),
    461: (1083, 199), 479: (1083, 58), 480: (1083, 29), 482: (1083, 13), 492: (1083, 6),
    510: (1083, 56), 530: (1083, 26), 540: (1083, 75), 550: (1083, 38), 561: (1083, 115),
    563: (1083, 3), 573: (1083, 50), 575: (1083, 43), 580: (1083, 59), 607: (1083, 51),
    621: (1083, 91), 630: (1083, 113),
    615: (1082, 87), 657: (1082, 88), 661: (1082, 58), 665: (1082, 20), 671: (1082, 21),
    706: (1082, 42), 707: (1082, 38), 710: (1082, 48), 727: (1082, 22), 730: (1082, 97),
    740: (1082, 91), 741: (1082, 4), 746: (1082, 60), 751: (1082, 330), 756: (1082, 41),
    760: (1082, 57), 766: (1082, 46), 779: (1082, 46), 791: (1082, 96),
    773: (1081, 21), 787: (1081, 44), 810: (1081, 36), 813: (1081, 60), 820: (1081, 37),
    825: (1081, 2), 840: (1081, 29), 846: (1081, 42), 849: (1081, 38), 851: (1081, 211),
    860: (1081, 65),
}

# Department suffixes (last 3 characters of the 7-character SHAK department code).
DEPARTMENTS: dict[str, str] = {
    "orthopaedics": "030",
    "medicine": "010",
    "cardiology": "012",
    "pulmonology": "013",
    "nephrology": "014",
    "rheumatology": "015",
    "endocrinology": "016",
    "geriatrics": "017",
    "surgery": "020",
    "urology": "025",
    "neurology": "040",
    "ophthalmology": "050",
    "oncology": "060",
    "dermatology": "070",
    "psychiatry": "080",
    "emergency": "090",
}


@dataclass(frozen=True)
class Tariff:
    code: str
    system: str  # DRG or DAGS
    description: str
    tariff_2016: float  # DKK at 2016 prices
    trim_days: int | None = None
    per_day_2016: float | None = None
    real_trend: float = 0.0  # yearly real change (fraction) relative to 2016


_ARTH = -0.015  # arthroplasty DRGs fell in real terms as length of stay fell (fast track)

TARIFFS: tuple[Tariff, ...] = (
    Tariff("08MP10", "DRG", "Bilateral primær hofte- eller knæalloplastik", 98000, 9, 2300, _ARTH),
    Tariff("08MP11", "DRG", "Primær hoftealloplastik", 53000, 7, 2300, _ARTH),
    Tariff("08MP12", "DRG", "Primær knæalloplastik", 58000, 7, 2300, _ARTH),
    Tariff("08MP13", "DRG", "Primær partiel knæalloplastik", 44000, 5, 2300, _ARTH),
    Tariff("08MP14", "DRG", "Hemialloplastik i hofte og alloplastik ved fraktur", 69000, 14, 2100, _ARTH),
    Tariff("08MP07", "DRG", "Revision af hofte- eller knæalloplastik", 92000, 12, 2400),
    Tariff("08MP08", "DRG", "Andre reoperationer efter alloplastik", 38000, 8, 2300),
    Tariff("08MA09", "DRG", "Infektion i ledprotese", 48000, 14, 2200),
    Tariff("08MA10", "DRG", "Luksation af hofte- eller knæprotese", 14000, 4, 2000),
    Tariff("08MA11", "DRG", "Periprotetisk fraktur, ikke-operativ behandling", 32000, 10, 2100),
    Tariff("05MA03", "DRG", "Venøs tromboemboli", 24000, 7, 2000),
    Tariff("18MA04", "DRG", "Sårkomplikation efter indgreb", 21000, 7, 2000),
    Tariff("04MA13", "DRG", "Lungebetændelse og pleuritis", 31000, 10, 2000),
    Tariff("11MA07", "DRG", "Infektioner i nyrer og urinveje", 19000, 7, 1900),
    Tariff("06MA11", "DRG", "Mave-tarmsygdomme, øvrige", 18000, 6, 1900),
    Tariff("05MA11", "DRG", "Brystsmerter", 12000, 3, 1900),
    Tariff("23MA05", "DRG", "Symptomer og fund, øvrige", 15000, 5, 1900),
    Tariff("05MA09", "DRG", "Hjertesvigt og andre hjertesygdomme", 38000, 10, 2100),
    Tariff("01MA05", "DRG", "Apopleksi", 52000, 14, 2100),
    Tariff("04MA07", "DRG", "Kronisk obstruktiv lungesygdom", 30000, 10, 2000),
    Tariff("17MA03", "DRG", "Kræftsygdom, medicinsk behandling", 35000, 10, 2100),
    Tariff("10MA03", "DRG", "Diabetes og andre endokrine sygdomme", 22000, 7, 1900),
    Tariff("19MA02", "DRG", "Psykiske lidelser, somatisk afdeling", 20000, 8, 1900),
    Tariff("08MA05", "DRG", "Rygsygdomme og smerter i bevægeapparatet", 16000, 5, 1900),
    Tariff("08PR01", "DAGS", "Ortopædkirurgi, første ambulante besøg", 2200),
    Tariff("08PR02", "DAGS", "Ortopædkirurgi, kontrol med røntgen", 2600),
    Tariff("08PR03", "DAGS", "Ortopædkirurgi, præoperativ vurdering", 1800),
    Tariff("30PR01", "DAGS", "Telemedicinsk kontakt", 450),
    Tariff("30PR02", "DAGS", "Akut ambulant besøg (skadestue)", 1450),
    Tariff("30PR03", "DAGS", "Ambulant besøg, medicinske specialer", 1900),
    Tariff("30PR04", "DAGS", "Ambulant besøg, psykiatri", 2700),
    Tariff("30PR05", "DAGS", "Ambulant besøg, reumatologi", 2300),
    Tariff("30PR07", "DAGS", "Ambulant besøg, onkologi", 3000),
    Tariff("30PR08", "DAGS", "Ambulant besøg, øvrige specialer", 1600),
    Tariff("02PR01", "DAGS", "Kataraktoperation", 7800),
)
TARIFF_INDEX: dict[str, int] = {t.code: i for i, t in enumerate(TARIFFS)}

# Implant price per index procedure code (DKK at 2016 prices); revisions 32,000 DKK.
IMPLANT_2016: dict[str, float] = {
    "KNFB20": 16500, "KNFB30": 14500, "KNFB40": 11500, "KNFB99": 14000,
    "KNFB01": 9500, "KNFB02": 9500, "KNFB62": 15000,
    "KNGB20": 17500, "KNGB30": 17000, "KNGB40": 16000, "KNGB99": 17000,
    "KNGB01": 13000, "KNGB02": 13000, "KNGB11": 12000,
}
REVISION_IMPLANT_2016 = 32000.0

# Index procedure code mix within joint and arthroplasty type (elective operations).
PROCEDURE_MIX: dict[tuple[str, str], dict[str, float]] = {
    ("hip", "total"): {"KNFB20": 0.55, "KNFB30": 0.22, "KNFB40": 0.20, "KNFB99": 0.03},
    ("hip", "partial"): {"KNFB62": 0.60, "KNFB01": 0.25, "KNFB02": 0.15},
    ("knee", "total"): {"KNGB20": 0.15, "KNGB30": 0.10, "KNGB40": 0.72, "KNGB99": 0.03},
    ("knee", "partial"): {"KNGB01": 0.45, "KNGB02": 0.45, "KNGB11": 0.10},
}
# Acute fracture operations: hemiarthroplasty or cemented total hip.
FRACTURE_PROCEDURE_MIX: dict[str, float] = {"KNFB01": 0.45, "KNFB02": 0.20, "KNFB40": 0.35}

# Reoperation codes within the code list prefixes (illustrative SKS-format codes).
REVISION_CODES = {"hip": ("KNFC20", "KNFC30", "KNFC40"), "knee": ("KNGC20", "KNGC30", "KNGC40")}
OTHER_REOPERATION_CODES = {"hip": ("KNFS49", "KNFJ51", "KNFH20"), "knee": ("KNGS49", "KNGH20", "KNGT29")}

# Complication type -> (diagnosis codes per joint with weights, DRG of an admission for it).
COMPLICATION_CODING: dict[str, tuple[dict[str, dict[str, float]], str]] = {
    "infection": ({"hip": {"DT845": 0.7, "DT814": 0.3}, "knee": {"DT845": 0.7, "DT814": 0.3}}, "08MA09"),
    "dislocation": ({"hip": {"DT840": 0.6, "DS730": 0.4}, "knee": {"DT840": 0.6, "DS830": 0.4}}, "08MA10"),
    "vte": ({"hip": {"DI802": 0.6, "DI269": 0.4}, "knee": {"DI802": 0.6, "DI269": 0.4}}, "05MA03"),
    "periprosthetic_fracture": ({"hip": {"DM966": 0.7, "DS721": 0.3}, "knee": {"DM966": 0.7, "DS821": 0.3}}, "08MA11"),
    "wound": ({"hip": {"DT813": 0.5, "DT810": 0.3, "DT818": 0.2}, "knee": {"DT813": 0.5, "DT810": 0.3, "DT818": 0.2}}, "18MA04"),
}

# Readmissions without a complication: primary diagnosis, DRG, weight.
GENERIC_READMISSIONS: tuple[tuple[str, str, float], ...] = (
    ("DR529", "23MA05", 0.22),  # pain, unspecified
    ("DN390", "11MA07", 0.18),  # urinary tract infection
    ("DJ189", "04MA13", 0.14),  # pneumonia
    ("DK590", "06MA11", 0.10),  # constipation
    ("DE869", "23MA05", 0.10),  # dehydration
    ("DM255", "08MA05", 0.14),  # joint pain
    ("DR262", "23MA05", 0.12),  # difficulty in walking
)

# Ordinary-life contacts: (diagnosis, department, DAGS or DRG, weight) per contact kind.
BACKGROUND_OUTPATIENT: tuple[tuple[str, str, str, float], ...] = (
    ("DH251", "ophthalmology", "30PR08", 0.12),
    ("DH401", "ophthalmology", "30PR08", 0.05),
    ("DM545", "orthopaedics", "30PR08", 0.10),
    ("DM751", "orthopaedics", "30PR08", 0.08),
    ("DI10", "cardiology", "30PR03", 0.10),
    ("DI489", "cardiology", "30PR03", 0.07),
    ("DE785", "medicine", "30PR03", 0.05),
    ("DE039", "endocrinology", "30PR03", 0.05),
    ("DG473", "pulmonology", "30PR03", 0.04),
    ("DN40", "urology", "30PR08", 0.06),
    ("DK210", "medicine", "30PR03", 0.05),
    ("DL409", "dermatology", "30PR08", 0.06),
    ("DH903", "surgery", "30PR08", 0.04),
    ("DR420", "neurology", "30PR03", 0.04),
    ("DZ031", "medicine", "30PR03", 0.05),
)
BACKGROUND_EMERGENCY: tuple[tuple[str, str, str, float], ...] = (
    ("DS934", "emergency", "30PR02", 0.25),
    ("DS610", "emergency", "30PR02", 0.20),
    ("DS525", "emergency", "30PR02", 0.10),
    ("DS008", "emergency", "30PR02", 0.15),
    ("DR104", "emergency", "30PR02", 0.15),
    ("DR074", "emergency", "30PR02", 0.15),
)
BACKGROUND_ACUTE_INPATIENT: tuple[tuple[str, str, str, float], ...] = (
    ("DJ189", "medicine", "04MA13", 0.22),
    ("DN390", "medicine", "11MA07", 0.16),
    ("DR074", "cardiology", "05MA11", 0.14),
    ("DK802", "surgery", "06MA11", 0.10),
    ("DK572", "surgery", "06MA11", 0.08),
    ("DR559", "medicine", "23MA05", 0.10),
    ("DI489", "cardiology", "05MA09", 0.10),
    ("DA099", "medicine", "06MA11", 0.10),
)
BACKGROUND_ELECTIVE_INPATIENT: tuple[tuple[str, str, str, float], ...] = (
    ("DK402", "surgery", "06MA11", 0.40),
    ("DN40", "urology", "11MA07", 0.30),
    ("DK802", "surgery", "06MA11", 0.30),
)
# Secondary (B) diagnoses of ordinary life (none is a pathway code).
BACKGROUND_SECONDARY: tuple[str, ...] = ("DI10", "DE785", "DE039", "DZ921", "DZ880", "DR262")

# Procedures on ordinary contacts: code, department it goes with (None = any), lateral.
BACKGROUND_PROCEDURES: tuple[tuple[str, str | None, bool], ...] = (
    ("KCJE20", "ophthalmology", True),  # cataract extraction with lens implant
    ("KUJF32", "surgery", False),  # colonoscopy
    ("KFNG05", "cardiology", False),  # percutaneous coronary intervention
    ("UXRC40", None, False),  # X-ray
    ("UXCC00", None, False),  # CT scan
)

# Charlson component / anxiety-depression -> department, outpatient DAGS, admission DRG.
COMORBIDITY_CARE: dict[str, tuple[str, str, str]] = {
    "mi": ("cardiology", "30PR03", "05MA09"),
    "chf": ("cardiology", "30PR03", "05MA09"),
    "pvd": ("surgery", "30PR03", "05MA09"),
    "cvd": ("neurology", "30PR03", "01MA05"),
    "dementia": ("geriatrics", "30PR03", "23MA05"),
    "copd": ("pulmonology", "30PR03", "04MA07"),
    "rheumatic": ("rheumatology", "30PR05", "08MA05"),
    "peptic_ulcer": ("medicine", "30PR03", "06MA11"),
    "mild_liver": ("medicine", "30PR03", "06MA11"),
    "diabetes": ("endocrinology", "30PR03", "10MA03"),
    "diabetes_complicated": ("endocrinology", "30PR03", "10MA03"),
    "hemiplegia": ("neurology", "30PR03", "01MA05"),
    "renal": ("nephrology", "30PR03", "11MA07"),
    "cancer": ("oncology", "30PR07", "17MA03"),
    "severe_liver": ("medicine", "30PR03", "06MA11"),
    "metastatic": ("oncology", "30PR07", "17MA03"),
    "aids": ("medicine", "30PR03", "23MA05"),
    "anxiety_depression": ("psychiatry", "30PR04", "19MA02"),
}


def realise_code(prefix: str) -> str:
    """A full diagnosis code that matches a code-list prefix (3-character categories get
    the subdivision 9, 'unspecified'; longer codes are used as they are)."""
    return prefix + "9" if len(prefix) == 4 else prefix


def matches(code: str, prefixes: list[str] | tuple[str, ...]) -> bool:
    return any(code.startswith(p) for p in prefixes)


def comorbidity_codes(codelists: CodeLists) -> dict[str, list[str]]:
    """Full diagnosis codes per Charlson component (and ``anxiety_depression``) that match
    that component's list and no other pathway list."""
    out: dict[str, list[str]] = {}
    comps = {name: comp.codes for name, comp in codelists.charlson.components.items()}
    comps["anxiety_depression"] = list(codelists.anxiety_depression)
    for name, prefixes in comps.items():
        codes = []
        for p in prefixes:
            code = realise_code(p)
            others = [q for other, qs in comps.items() if other != name for q in qs]
            if matches(code, others) or _is_pathway_event_code(code, codelists):
                continue
            codes.append(code)
        out[name] = sorted(set(codes))
    return out


def _is_pathway_event_code(code: str, codelists: CodeLists) -> bool:
    complication = [p for ps in codelists.complications.values() for p in ps]
    return matches(code, complication)


def check_background_codes(codelists: CodeLists) -> list[str]:
    """Ordinary-life diagnosis and procedure codes that match a pathway code list (should be empty)."""
    pathway_dx = [p for ps in codelists.complications.values() for p in ps]
    pathway_dx += [p for c in codelists.charlson.components.values() for p in c.codes]
    pathway_dx += list(codelists.anxiety_depression)
    pathway_dx += [p for ps in codelists.excluded_index_diagnoses.values() for p in ps]
    dx = [d for table in (BACKGROUND_OUTPATIENT, BACKGROUND_EMERGENCY, BACKGROUND_ACUTE_INPATIENT,
                          BACKGROUND_ELECTIVE_INPATIENT) for d, *_ in table]
    dx += list(BACKGROUND_SECONDARY) + [d for d, _, _ in GENERIC_READMISSIONS]
    bad = [d for d in dx if matches(d, pathway_dx)]
    pathway_px = [p for j in ("hip", "knee") for t in ("total", "partial")
                  for p in getattr(codelists.index_procedures[j], t)]
    pathway_px += list(codelists.reoperation_procedures.hip) + list(codelists.reoperation_procedures.knee)
    bad += [p for p, _, _ in BACKGROUND_PROCEDURES if matches(p, pathway_px)]
    return bad
