"""Every number of the data-generating process, in one JSON-ready structure.

``model_parameters()`` is written verbatim to ``truth/parameters.json`` (plus the run's
settings and the hospital effects), so a reader can recompute every expected value.
Sources of the targets are named next to each block and in ``docs/synthetic-registry.md``
(mostly ``../shared/reference/prom-scoring-and-prediction.md`` §3).

Outcome models are generalised linear models in the **features** below, computed from
episode-table columns exactly as written in ``FEATURES`` (``design_matrix``), plus an
additive hospital effect on the linear predictor.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

# Feature name -> exact definition on episode-table columns (documentation and code agree:
# design_matrix() implements these strings one by one).
FEATURES: dict[str, str] = {
    "knee": "joint == 'knee'",
    "partial": "arthroplasty_type == 'partial'",
    "age_c": "(age - 65) / 10",
    "age_c2": "((age - 65) / 10) ** 2",
    "female": "sex == 'F'",
    "bmi_c": "(bmi - 30) / 5",
    "asa2": "asa_class == 2",
    "asa3": "asa_class == 3",
    "asa4": "asa_class == 4",
    "smoking_current": "smoking == 'current'",
    "smoking_former": "smoking == 'former'",
    "alcohol_high": "alcohol_units_week > 14",
    "charlson": "charlson_index",
    "anxiety_depression": "anxiety_depression",
    "ind_rheumatoid_arthritis": "indication == 'rheumatoid_arthritis'",
    "ind_osteonecrosis": "indication == 'osteonecrosis'",
    "ind_dysplasia": "indication == 'dysplasia'",
    "ind_fracture_sequelae": "indication == 'fracture_sequelae'",
    "ind_other": "indication == 'other'",
    "oxford_pre_c": "(oxford_pre - 20) / 10",
    "year_c": "operation_year - 2016",
    "bilateral": "bilateral_same_day",
    "sick_listed": "employment_status == 'sick_listed'",
    "sickness_weeks_c": "sickness_benefit_weeks_1y / 10",
}

# Outcomes with a GLM truth.  Coefficients not listed are 0.  Reference category: hip,
# total, age 65, male, BMI 30, ASA 1, never smoker, <= 14 units, Charlson 0, no anxiety/
# depression, primary osteoarthritis, pre-op Oxford 20, 2016, unilateral.
_GLMS: dict[str, dict[str, Any]] = {
    "oxford_12m": {
        "family": "gaussian",
        "link": "identity",
        "latent": True,
        "observed": "clip(round(Y*), 0, 48) with Y* ~ N(eta, sigma^2): whole points, ceiling 48",
        "censoring": [0, 48],
        "intercept": 45.0,
        "sigma": 7.0,
        "coefficients": {
            "knee": -5.9, "partial": 0.8, "age_c2": -1.2, "female": -0.8, "bmi_c": -0.8,
            "asa2": -0.8, "asa3": -2.2, "asa4": -4.0, "smoking_current": -1.5, "smoking_former": -0.3,
            "charlson": -0.6, "anxiety_depression": -3.0, "ind_rheumatoid_arthritis": -2.0,
            "ind_osteonecrosis": 0.5, "ind_dysplasia": 1.0, "ind_fracture_sequelae": -2.0, "ind_other": -2.0,
            "oxford_pre_c": 2.6, "year_c": 0.1,
        },
        "hospital_effect_sd": 1.0,
        "hospital_effect_direction": 1,
    },
    "oxford_3m": {
        "family": "gaussian",
        "link": "identity",
        "latent": True,
        "observed": "clip(round(Y*), 0, 48) with Y* ~ N(eta, sigma^2): whole points, ceiling 48",
        "censoring": [0, 48],
        "intercept": 39.0,
        "sigma": 7.0,
        "coefficients": {
            "knee": -6.0, "partial": 1.0, "age_c2": -1.1, "female": -0.9, "bmi_c": -0.7,
            "asa2": -0.7, "asa3": -2.0, "asa4": -3.6, "smoking_current": -1.3, "smoking_former": -0.3,
            "charlson": -0.5, "anxiety_depression": -2.7, "ind_rheumatoid_arthritis": -1.8,
            "ind_osteonecrosis": 0.4, "ind_dysplasia": 0.9, "ind_fracture_sequelae": -1.8, "ind_other": -1.8,
            "oxford_pre_c": 2.8, "year_c": 0.15,
        },
        "hospital_effect_sd": 1.0,
        "hospital_effect_direction": 1,
    },
    "complication_90d": {
        "family": "binomial",
        "link": "logit",
        "intercept": -3.35,
        "coefficients": {
            "knee": -0.10, "partial": -0.20, "age_c": 0.10, "age_c2": 0.08, "female": -0.15, "bmi_c": 0.18,
            "asa2": 0.25, "asa3": 0.60, "asa4": 1.00, "smoking_current": 0.40, "smoking_former": 0.10,
            "alcohol_high": 0.30, "charlson": 0.12, "anxiety_depression": 0.20, "ind_rheumatoid_arthritis": 0.45,
            "ind_osteonecrosis": 0.15, "ind_fracture_sequelae": 0.30, "ind_other": 0.25, "bilateral": 0.30,
        },
        "hospital_effect_sd": 0.25,
        "hospital_effect_direction": -1,
    },
    "readmission_90d": {
        "family": "binomial",
        "link": "logit",
        "intercept": -3.0,
        "coefficients": {
            "knee": 0.05, "age_c": 0.22, "age_c2": 0.10, "female": -0.10, "bmi_c": 0.08,
            "asa2": 0.20, "asa3": 0.55, "asa4": 0.95, "smoking_current": 0.20, "charlson": 0.18,
            "anxiety_depression": 0.25, "ind_rheumatoid_arthritis": 0.20, "ind_other": 0.15,
            "year_c": -0.02, "bilateral": 0.20,
        },
        "hospital_effect_sd": 0.20,
        "hospital_effect_direction": -1,
    },
    "reoperation_2y": {
        "family": "binomial",
        "link": "logit",
        "intercept": -3.55,
        "coefficients": {
            "knee": 0.05, "partial": 0.55, "age_c": -0.20, "female": -0.15, "bmi_c": 0.20,
            "asa3": 0.25, "asa4": 0.40, "smoking_current": 0.30, "charlson": 0.05, "anxiety_depression": 0.15,
            "ind_rheumatoid_arthritis": 0.30, "ind_dysplasia": 0.20, "ind_fracture_sequelae": 0.35,
            "ind_other": 0.20,
        },
        "hospital_effect_sd": 0.25,
        "hospital_effect_direction": -1,
    },
    "death_90d": {
        "family": "binomial",
        "link": "logit",
        "intercept": -7.3,
        "coefficients": {
            "age_c": 0.95, "female": -0.35, "asa2": 0.30, "asa3": 0.80, "asa4": 1.80,
            "smoking_current": 0.30, "charlson": 0.30, "ind_other": 0.30,
        },
        "hospital_effect_sd": 0.20,
        "hospital_effect_direction": -1,
    },
    "los_days": {
        "family": "poisson",
        "link": "log",
        "observed": ("los_days = B + P, B ~ Bernoulli(b), P ~ Poisson(mu - b), b = min(0.9, 0.95 mu), capped at "
                     "30 days: E[los_days] = mu = exp(eta), under-dispersed (fit a Poisson/quasi-Poisson GLM)"),
        "intercept": 0.33,
        "coefficients": {
            "knee": 0.03, "partial": -0.30, "age_c": 0.12, "age_c2": 0.04, "female": 0.06, "bmi_c": 0.03,
            "asa2": 0.08, "asa3": 0.22, "asa4": 0.45, "charlson": 0.04, "anxiety_depression": 0.05,
            "ind_rheumatoid_arthritis": 0.10, "ind_other": 0.10, "year_c": -0.075, "bilateral": 0.40,
        },
        "hospital_effect_sd": 0.20,
        "hospital_effect_direction": -1,
        "private_hospital_shift": -0.25,
    },
    "return_to_work_6m": {
        "family": "binomial",
        "link": "logit",
        "population": "employed (employment_status employed or sick_listed)",
        "intercept": 1.55,
        "coefficients": {
            "knee": -0.30, "partial": 0.30, "oxford_pre_c": 0.30, "age_c": -0.35, "female": -0.10,
            "bmi_c": -0.10, "asa2": -0.10, "asa3": -0.40, "asa4": -0.60, "smoking_current": -0.20,
            "charlson": -0.10, "anxiety_depression": -0.50, "sick_listed": -0.60, "sickness_weeks_c": -0.15,
        },
        "hospital_effect_sd": 0.15,
        "hospital_effect_direction": 1,
    },
}

# Gaussian copula of the outcomes' random parts (low value = bad outcome for every
# outcome), so that complications go with readmissions, reoperations, longer stays,
# worse PROMs and no return to work while each outcome keeps its GLM margin exactly.
COPULA_ORDER = ("oxford_12m", "oxford_3m", "complication_90d", "readmission_90d", "reoperation_2y",
                "los_days", "return_to_work_6m")
COPULA_CORRELATION = [
    [1.00, 0.60, 0.25, 0.15, 0.25, 0.10, 0.30],
    [0.60, 1.00, 0.25, 0.15, 0.15, 0.10, 0.25],
    [0.25, 0.25, 1.00, 0.55, 0.45, 0.25, 0.20],
    [0.15, 0.15, 0.55, 1.00, 0.30, 0.15, 0.10],
    [0.25, 0.15, 0.45, 0.30, 1.00, 0.10, 0.15],
    [0.10, 0.10, 0.25, 0.15, 0.10, 1.00, 0.10],
    [0.30, 0.25, 0.20, 0.10, 0.15, 0.10, 1.00],
]

# Outcomes without a GLM of their own: how they follow from the models above.
_DERIVED: dict[str, str] = {
    "mic_12m": ("oxford_12m - oxford_pre >= mic_12m_threshold[joint]; expected_mic_12m = "
                "P(round(Y*) >= ceil(oxford_pre + threshold)) under the oxford_12m model"),
    "eq5d_12m": ("ordered probit per EQ-5D dimension on the latent 12-month Oxford score (proms.eq5d), valued with "
                 "eq5d.decrements; expected_eq5d_12m exact"),
    "eq5d_gain_12m": "eq5d_12m - eq5d_pre; expected = expected_eq5d_12m - eq5d_pre",
    "complication_<type>_90d": "one type per complicated operation, probabilities pathway.complication_types[joint]",
    "readmission_30d": ("readmission day after discharge 1 + TruncExp(40) days (or the complication's day, 1 + "
                        "TruncExp(20) days after discharge); expected_readmission_30d = (1 - s) P(C and R) "
                        "E_los[F_C] + (P(R) - (1 - s) P(C and R)) F_R with s = complication_in_stay_share, the "
                        "truncated-exponential shares F of 30 days and P(C and R) from the copula (deaths within 90 "
                        "days ignored)"),
    "reoperation_1y": "reoperation dated by pathway.reoperation (25 % early, 75 % late)",
    "revision_2y": ("a reoperation that is a revision (pathway.reoperation.revision_share); expected_revision_2y = "
                    "revision_share x expected_reoperation_2y"),
    "death_30d, death_1y": "deaths within 90 days uniform over the days after discharge; then pathway.death hazard",
    "cost_1y_dkk": ("sum of the priced events and ordinary care in [op, op + 365 d]; expected_cost_1y_dkk is the "
                    "analytic sum of their expectations (docs/synthetic-registry.md), not a GLM"),
}

_PARAMETERS: dict[str, Any] = {
    "features": FEATURES,
    "outcomes": _GLMS,
    "derived_outcomes": _DERIVED,
    "copula": {"order": list(COPULA_ORDER), "correlation": COPULA_CORRELATION,
               "convention": "latent z ~ N(0, R); an event happens when z is low (outcome bad)"},
    "hospital_effects": {
        "quality_correlation": 0.6,
        "definition": (
            "effect_<outcome> = scale * sd * direction * (0.6 q + 0.8 e), q ~ N(0,1) per hospital "
            "(shared quality), e ~ N(0,1) per hospital and outcome; added to the linear predictor "
            "(points for Oxford, log-odds for binomial, log for los_days). Private hospitals add "
            "scale * private_hospital_shift to los_days."
        ),
    },
    # Population (targets: Hamilton 2015, Heath 2021, Petersen 2019 Dan Med J; see docs).
    "population": {
        "hip_share": 0.52,
        "female_share": {"hip": 0.58, "knee": 0.57, "acute_fracture": 0.70},
        "age": {"hip": [68.0, 10.0], "knee": [69.0, 9.0], "acute_fracture": [80.0, 8.0], "cancer": [66.0, 11.0],
                "clip": [20.0, 96.0]},
        "bmi": {"hip": [28.4, 4.8], "knee": [31.0, 5.2], "clip": [16.0, 55.0]},
        "partial_share": {"hip": 0.04, "knee": 0.17},
        "right_side_share": 0.55,
        "yearly_volume_growth": 0.03,
        "first_operation_kind": {"elective": 0.9555, "acute_fracture": 0.04, "cancer": 0.004, "under_18": 0.0005},
        "elective_quirks": {
            "registry_missing": 0.015,
            "registry_says_revision": 0.005,
            "laterality_missing": 0.003,
            "later_primary_code_same_side": 0.003,
        },
        "second_operation": {"probability": 0.20, "same_joint_other_side": 0.6, "min_gap_days": 540,
                             "gap_gamma_shape": 2.0, "gap_gamma_scale_days": 300.0},
        "bilateral_same_day": 0.006,
        "indication": {
            "hip": {"primary_osteoarthritis": 0.80, "rheumatoid_arthritis": 0.015, "osteonecrosis": 0.03,
                    "dysplasia": 0.05, "fracture_sequelae": 0.03, "other": 0.075},
            "knee": {"primary_osteoarthritis": 0.92, "rheumatoid_arthritis": 0.025, "osteonecrosis": 0.015,
                     "dysplasia": 0.005, "fracture_sequelae": 0.02, "other": 0.015},
        },
        "smoking": {"never": 0.47, "former": 0.40, "current": 0.13},
        "smoking_current_age_slope": -0.25,
        "alcohol": {"zero_share": 0.25, "lognormal_median": {"F": 4.0, "M": 7.0}, "lognormal_sigma": 0.8},
        "asa": {"cutpoints": [-1.75, 1.6, 4.3],
                "coefficients": {"age_c": 0.55, "bmi_c": 0.35, "comorbidities": 0.7, "anxiety_depression": 0.3}},
        "registry_missing_value": {"bmi": 0.03, "asa_class": 0.01, "smoking": 0.04, "alcohol_units_week": 0.06},
    },
    # Comorbidity: prevalence at the first operation by logistic model; codes on care contacts.
    "comorbidity": {
        "prevalence": {
            "mi": 0.04, "chf": 0.03, "pvd": 0.03, "cvd": 0.05, "dementia": 0.006, "copd": 0.06,
            "rheumatic": 0.035, "peptic_ulcer": 0.015, "mild_liver": 0.01, "diabetes": 0.08,
            "diabetes_complicated": 0.02, "hemiplegia": 0.003, "renal": 0.02, "cancer": 0.05,
            "severe_liver": 0.001, "metastatic": 0.002, "aids": 0.0005, "anxiety_depression": 0.12,
        },
        "age_log_odds_per_decade": 0.35,
        "anxiety_depression_female_log_odds": 0.45,
        "anxiety_depression_age_log_odds_per_decade": -0.35,
        "diabetes_bmi_log_odds_per_5": 0.45,
        "onset_days_relative_to_first_operation": [-2920, 365],
        "care_contacts_per_year": 2.5,
        "care_contact_kind": {"outpatient": 0.82, "telemedicine": 0.06, "emergency": 0.04, "acute_inpatient": 0.08},
        "medicine_per_visit_2016": {"rheumatic": 5500.0, "cancer": 12000.0, "metastatic": 12000.0},
        "hierarchy_exclusive": True,
    },
    # Ordinary-life hospital contacts per person-year (multiplied by exp(0.15 * comorbidities
    # + 0.01 * (age - 70))) and primary care services per month.
    "background": {
        "rates_per_year": {"outpatient": 1.3, "emergency": 0.12, "acute_inpatient": 0.06,
                           "elective_inpatient": 0.02, "telemedicine": 0.15},
        "comorbidity_log_rate": 0.15,
        "age_log_rate_per_year": 0.01,
        "procedure_share": 0.2,
        "secondary_diagnosis_share": 0.3,
        "inpatient_los": {"extra_days_poisson_mean": 2.5},
        "thinning": {"all_kinds_days_after_operation": [-1, 30], "acute_inpatient_days_after_operation": [-1, 121],
                     "lookback_boundary_day": 730},
        "primary_care": {
            "services_per_month": 0.55, "comorbidity_log_rate": 0.12, "age_log_rate_per_year": 0.015,
            "anxiety_depression_log_rate": 0.25, "fee_2016": 175.0, "fee_multiplier_uniform": [0.9, 1.3],
            "post_operative_extra_services": 2.0,
        },
        "home_care": {"age_from": 80, "share": 0.15, "hours_per_month_mean": 12.0, "rate_2016": 390.0},
    },
    # The operation pathway.
    "pathway": {
        "preop_visits": {"first_visit_days_before": [20, 120], "assessment_days_before": [3, 15]},
        "followup_visits": {"six_weeks": {"probability": 0.85, "days": [35, 56], "dags": "08PR02"},
                            "three_months_telemedicine": {"probability": 0.35, "days": [80, 100], "dags": "30PR01"},
                            "one_year": {"probability": 0.30, "days": [350, 380], "dags": "08PR02"}},
        "index_medicine_2016": 1100.0,
        "infection_medicine_2016": 18000.0,
        "complication_types": {
            "hip": {"infection": 0.22, "dislocation": 0.28, "vte": 0.18, "periprosthetic_fracture": 0.12, "wound": 0.20},
            "knee": {"infection": 0.25, "dislocation": 0.02, "vte": 0.25, "periprosthetic_fracture": 0.06, "wound": 0.42},
        },
        "complication_in_stay_share": 0.15,
        "complication_contact": {"emergency_share": 0.6, "emergency_dags": "30PR02", "outpatient_dags": "30PR03"},
        "readmission_days_after_discharge_exponential_mean": 40.0,
        "readmission_los": {"extra_days_poisson_mean": 2.5},
        "reoperation": {"early_share": 0.25, "early_days_after_discharge": [7, 90],
                        "late_days_after_operation_start": 91, "late_exponential_mean_days": 250.0,
                        "revision_share": 0.55, "los_extra_days_poisson_mean": {"revision": 3.0, "other": 2.0}},
        "death": {"background_log_hazard_per_year": [-4.8, 0.09, 0.25, 0.30],
                  "background_terms": "log(yearly hazard) = a + b (age - 70) + c charlson_index + d male"},
        "rehabilitation": {"sessions_poisson_mean": {"hip": 6.0, "knee": 8.0}, "rate_2016": 480.0},
        "post_operative_home_care": {"age_from": 75, "share": 0.35, "weeks": [2, 8], "hours_per_week_mean": 3.0},
    },
    "proms": {
        "preop": {"intercept": {"hip": 19.5, "knee": 20.5}, "sigma": 7.8,
                  "coefficients": {"female": -1.5, "bmi_c": -0.8, "anxiety_depression": -2.5, "asa3": -1.0,
                                   "asa4": -2.0, "age_c": 0.4, "ind_rheumatoid_arthritis": -1.5}},
        "days": {"pre": [-60, -5], "3m": [90, 8, 70, 130], "12m": [365, 15, 300, 430]},
        "response": {"intercept": {"pre": 2.2, "3m": 0.30, "12m": 0.25}, "latent_per_10_points": 0.35,
                     "age_60_79": 0.3, "anxiety_depression": -0.3, "smoking_current": -0.25,
                     "responded_before": 0.8},
        "missing_item_probability": {"oxford": 0.015, "eq5d": 0.01, "single": 0.015},
        "web_share": {"2010": 0.35, "2020": 0.80, "age_slope_per_decade": -0.12},
        "eq5d": {
            "latent_scale": "L_d = a_d (Y - 24) / 10 + extra_d + u_d, u_d ~ N(0, 1); level = 1 + #(L_d < tau_dk)",
            "a": {"MO": 0.95, "SC": 0.75, "UA": 0.95, "PD": 1.10, "AD": 0.35},
            "anxiety_depression_on_AD": -0.9,
            "age_c_on_MO": -0.2,
            "tau": {"MO": [0.3, -0.7, -1.8, -3.2], "SC": [-0.8, -1.8, -2.8, -3.8], "UA": [0.4, -0.6, -1.7, -3.0],
                    "PD": [1.2, 0.1, -1.1, -2.6], "AD": [-0.3, -1.4, -2.4, -3.4]},
        },
        "eqvas": {"intercept": 62.0, "per_10_latent_points": 9.0, "sd": 13.0, "anxiety_depression": -5.0, "age_c": -1.5},
        "pain_nrs": {"intercept": 4.6, "per_10_latent_points": -1.7, "sd": 1.4},
        "oxford_items": "48 units (12 items x 4 levels) with priorities d_i - 0.9 k + 0.6 N(0,1); the Y highest are on",
    },
    "labour": {
        "pension_age_by_birth": [["1954-07-01", 65.0], ["1955-01-01", 65.5], ["1955-07-01", 66.0],
                                 ["1956-01-01", 66.5], [None, 67.0]],
        "employment_latest_age_before_pension": 0.6,
        "working_age_status": {"employed_by_age": [[50, 0.80], [55, 0.78], [60, 0.70], [62, 0.50], [67, 0.38]],
                               "disability_pension_base": 0.08, "disability_pension_per_comorbidity": 0.05,
                               "unemployed": 0.05, "flex_job": 0.04},
        "preop_sickness": {"probability_base": 0.30, "per_10_oxford_points_below_20": 0.08,
                           "spell_weeks_geometric_mean": 6.0, "ongoing_at_operation": 0.40},
        "return_weeks": {"lognormal_median": {"hip": 9.0, "knee": 11.0}, "lognormal_sigma": 0.55,
                         "late_return_weeks": [27, 70], "never_return_share": 0.4,
                         "never_return_sickness_weeks": 39, "never_return_to": {"disability_pension": 0.5, "flex_job": 0.5}},
        "dream_window_weeks": [-104, 104],
    },
    "costs": {
        "price_year": 2016,
        "region_perspective": ["drg_tariff", "dags_tariff", "implant", "medicine", "primary_care"],
        "society_adds": ["municipal_rehabilitation", "home_care", "sickness_benefit"],
    },
    "dirt": {
        "tables": {
            "patients": {"duplicate_row": 1.0},
            "contacts": {"duplicate_row": 0.30, "split_contact": 0.15, "overlapping_contact": 0.10,
                         "future_date": 0.15, "end_before_start": 0.10, "unknown_code": 0.10, "orphan_key": 0.10},
            "diagnoses": {"duplicate_row": 0.40, "unknown_code": 0.40, "orphan_key": 0.20},
            "procedures": {"duplicate_row": 0.40, "unknown_code": 0.20, "orphan_key": 0.20, "future_date": 0.20},
            "arthroplasty_registry": {"duplicate_row": 0.40, "late_registration": 0.30, "out_of_range": 0.30},
            "prom_responses": {"duplicate_row": 0.30, "missing_code": 0.35, "out_of_range": 0.05,
                               "future_date": 0.10, "orphan_key": 0.10, "unknown_code": 0.10},
            "costs": {"duplicate_row": 0.35, "negative_amount": 0.25, "future_date": 0.15, "out_of_range": 0.10,
                      "unknown_code": 0.10, "orphan_key": 0.05},
            "transfer_payments": {"duplicate_row": 0.50, "unknown_code": 0.25, "out_of_range": 0.15,
                                  "orphan_key": 0.10},
        },
    },
}


def model_parameters() -> dict[str, Any]:
    """A deep copy of all generator parameters (JSON-ready)."""
    return copy.deepcopy(_PARAMETERS)


def design_matrix(ep: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The GLM features of ``FEATURES`` from episode-table columns (float arrays).

    ``ep`` holds numpy arrays named as the episode columns (strings as object arrays,
    booleans as bool).  Missing values must not occur: the truth uses true values.
    """
    age_c = (ep["age"] - 65.0) / 10.0
    f = {
        "knee": ep["joint"] == "knee",
        "partial": ep["arthroplasty_type"] == "partial",
        "age_c": age_c,
        "age_c2": age_c**2,
        "female": ep["sex"] == "F",
        "bmi_c": (ep["bmi"] - 30.0) / 5.0,
        "asa2": ep["asa_class"] == 2,
        "asa3": ep["asa_class"] == 3,
        "asa4": ep["asa_class"] == 4,
        "smoking_current": ep["smoking"] == "current",
        "smoking_former": ep["smoking"] == "former",
        "alcohol_high": ep["alcohol_units_week"] > 14,
        "charlson": ep["charlson_index"],
        "anxiety_depression": ep["anxiety_depression"],
        "ind_rheumatoid_arthritis": ep["indication"] == "rheumatoid_arthritis",
        "ind_osteonecrosis": ep["indication"] == "osteonecrosis",
        "ind_dysplasia": ep["indication"] == "dysplasia",
        "ind_fracture_sequelae": ep["indication"] == "fracture_sequelae",
        "ind_other": ep["indication"] == "other",
        "year_c": ep["operation_year"] - 2016.0,
        "bilateral": ep["bilateral_same_day"],
    }
    if "oxford_pre" in ep:
        f["oxford_pre_c"] = (ep["oxford_pre"] - 20.0) / 10.0
    if "employment_status" in ep:
        f["sick_listed"] = ep["employment_status"] == "sick_listed"
        f["sickness_weeks_c"] = ep["sickness_benefit_weeks_1y"] / 10.0
    return {k: np.asarray(v, dtype=float) for k, v in f.items()}


def linear_predictor(outcome: str, x: dict[str, np.ndarray], params: dict[str, Any] | None = None) -> np.ndarray:
    """Intercept + sum of coefficient x feature for ``outcome`` (without hospital effect)."""
    spec = (params or _PARAMETERS)["outcomes"][outcome]
    n = len(next(iter(x.values())))
    eta = np.full(n, float(spec["intercept"]))
    for name, beta in spec["coefficients"].items():
        eta += beta * x[name]
    return eta
