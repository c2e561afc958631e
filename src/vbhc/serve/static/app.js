// vbhc decision support: the clinicians' page.
// Sends the form to POST /v1/predictions and draws the answer for a patient to
// understand.  Everything is served by the vbhc service itself (no CDN, no network).
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const RISKS = ["complication_90d", "readmission_90d", "reoperation_2y", "death_90d"];
  const MORE = ["eq5d_gain_12m", "los_days", "return_to_work_6m", "cost_1y_dkk"];
  const UNIT_KEYS = config.units; // field or outcome -> label key of its unit
  // how a factor moves each outcome, in words (binary outcomes: chance or risk)
  const FACTOR_WORDS = { oxford_12m: "score", eq5d_gain_12m: "gain", los_days: "days", cost_1y_dkk: "cost" };

  let labels = null;
  let lang = config.lang || config.default_lang;
  let last = null;

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  function has(key) {
    return Boolean(labels && labels[lang] && key in labels[lang]);
  }

  function t(key, vars) {
    const table = (labels && labels[lang]) || {};
    const text = key in table ? table[key] : key;
    return text.replace(/\{(\w+)\}/g, (match, name) => (vars && name in vars ? String(vars[name]) : match));
  }

  function fmt(x, digits = 0) {
    return new Intl.NumberFormat(lang === "da" ? "da-DK" : "en-GB", {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(x);
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function svg(tag, attrs = {}, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  // ---------------------------------------------------------------- language
  function applyLanguage() {
    document.documentElement.lang = lang;
    for (const node of $$("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of $$("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const button of $$("[data-lang]")) button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    if (last) renderResult(last);
  }

  function setLanguage(next) {
    if (!config.languages.includes(next)) return;
    lang = next;
    try { localStorage.setItem("vbhc-lang", lang); } catch (e) { /* storage may be off */ }
    const url = new URL(location.href);
    url.searchParams.set("lang", lang);
    history.replaceState(null, "", url);
    applyLanguage();
  }

  // ------------------------------------------------------------------- form
  function selectedJoint() {
    const checked = $("input[name=joint]:checked");
    return checked ? checked.value : "hip";
  }

  function updateForm() {
    const joint = selectedJoint();
    for (const row of $$("[data-joints]")) row.hidden = !row.dataset.joints.split(" ").includes(joint);
    for (const [name, modes] of [["oxford_mode", ["total", "items"]], ["eq5d_mode", ["index", "dims"]]]) {
      const value = ($(`input[name=${name}]:checked`) || {}).value;
      const block = $(`input[name=${name}]`).closest(".score-block");
      for (const mode of modes) $(`.mode-${mode}`, block).hidden = mode !== value;
    }
  }

  function numberOrText(raw) {
    const text = String(raw ?? "").trim();
    if (text === "") return undefined;
    const n = Number(text.replace(",", "."));
    return Number.isFinite(n) ? n : text; // the service names the field when it is not a number
  }

  function buildRequest(form) {
    const data = new FormData(form);
    const body = {};
    const put = (key, value) => { if (value !== undefined && value !== "") body[key] = value; };
    put("joint", data.get("joint") || undefined);
    put("age", numberOrText(data.get("age")));
    put("sex", data.get("sex") || undefined);
    for (const name of ["bmi", "alcohol_units_week", "charlson_index", "eqvas_pre", "pain_pre", "asa_class",
      "operation_year"]) {
      put(name, numberOrText(data.get(name)));
    }
    for (const name of ["smoking", "indication", "employment_status", "arthroplasty_type"]) {
      put(name, data.get(name) || undefined);
    }
    for (const name of ["anxiety_depression", "bilateral_same_day", "prior_contralateral"]) {
      const v = data.get(name);
      if (v === "true" || v === "false") body[name] = v === "true";
    }
    if (data.get("oxford_mode") === "items") {
      const answers = {};
      for (const item of config.oxford_items[body.joint || "hip"]) {
        const v = numberOrText(data.get(`oxford_item_${item}`));
        if (v !== undefined) answers[item] = v; // unanswered items are left out
      }
      body.oxford_items = answers;
    } else {
      put("oxford_pre", numberOrText(data.get("oxford_pre")));
    }
    if (data.get("eq5d_mode") === "dims") {
      const levels = {};
      let given = 0;
      for (const d of config.eq5d_dimensions) {
        const v = numberOrText(data.get(`eq5d_item_${d}`));
        if (v !== undefined) { levels[d] = v; given += 1; }
      }
      if (given > 0) body.eq5d_items = levels;
    } else {
      put("eq5d_pre", numberOrText(data.get("eq5d_pre")));
    }
    return body;
  }

  function showErrors(messages) {
    const box = $("#form-errors");
    for (const node of $$("[aria-invalid=true]")) node.removeAttribute("aria-invalid");
    for (const node of $$(".field.invalid, .score-block.invalid")) node.classList.remove("invalid");
    if (!messages || messages.length === 0) { box.hidden = true; box.replaceChildren(); return; }
    box.replaceChildren(el("p", { text: messages.title }),
      el("ul", {}, ...messages.items.map((m) => el("li", { text: m.message }))));
    box.hidden = false;
    for (const m of messages.items) {
      const holder = m.field && $(`[data-field="${CSS.escape(m.field)}"]`);
      if (holder) {
        holder.classList.add("invalid");
        const input = $("input, select", holder);
        if (input) input.setAttribute("aria-invalid", "true");
      }
    }
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.target;
    const token = $("#f-token").value.trim();
    try { sessionStorage.setItem("vbhc-token", token); } catch (e) { /* storage may be off */ }
    const status = $("#status");
    status.textContent = t("working");
    $("#submit").disabled = true;
    showErrors(null);
    try {
      const response = await fetch("/v1/predictions", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(buildRequest(form)),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        last = answer;
        renderResult(answer);
        $("#result").scrollIntoView({ behavior: "smooth", block: "start" });
      } else if (response.status === 401) {
        showErrors({ title: t("err_token"), items: [] });
        $("#f-token").focus();
      } else if (response.status === 422 && Array.isArray(answer.detail)) {
        showErrors({ title: t("err_fields"), items: answer.detail });
      } else {
        showErrors({ title: t("err_other", { status: response.status }), items: [] });
      }
    } catch (e) {
      showErrors({ title: t("err_network"), items: [] });
    } finally {
      status.textContent = "";
      $("#submit").disabled = false;
    }
  }

  // ----------------------------------------------------------------- result
  function fieldLabel(field) {
    if (has(field)) return t(field);
    if (has(`field_${field}`)) return t(`field_${field}`);
    return field.replace(/_/g, " ");
  }

  function valueText(field, value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "boolean") return t(value ? "yes" : "no");
    if (has(`${field}_${value}`)) return t(`${field}_${value}`);
    if (field === "operation_year") return String(value);
    if (typeof value === "number") {
      const unit = UNIT_KEYS[field] ? ` ${t(UNIT_KEYS[field])}` : "";
      return `${fmt(value, Number.isInteger(value) ? 0 : 1)}${unit}`;
    }
    return String(value);
  }

  function chanceText(p) {
    const per100 = Math.round(p * 100);
    if (per100 < 1) return t("under_1_in_100", { x: fmt(Math.max(p * 1000, 0), p * 1000 < 1 ? 1 : 0) });
    return t("in_100", { x: per100 });
  }

  function iconArray(p, kind, caption) {
    const hits = Math.round(p * 100);
    const size = 9;
    const grid = svg("svg", { viewBox: `0 0 ${10 * size} ${10 * size}`, class: `icons ${kind}`, role: "img",
      "aria-label": caption });
    grid.append(svg("title", {}, caption));
    for (let i = 0; i < 100; i += 1) {
      const row = Math.floor(i / 10);
      const col = i % 10;
      grid.append(svg("circle", { cx: col * size + size / 2, cy: row * size + size / 2, r: size * 0.36,
        class: i < hits ? "hit" : "miss" }));
    }
    return grid;
  }

  function chancePanel(outcome, id) {
    const mine = el("figure", { class: "panel" },
      iconArray(outcome.estimate, outcome.higher_is_better ? "good" : "bad", chanceText(outcome.estimate)),
      el("figcaption", {}, el("strong", { id, text: chanceText(outcome.estimate) }), el("br"),
        el("span", { text: t("this_patient") })));
    const typical = outcome.typical && el("figure", { class: "panel typical" },
      iconArray(outcome.typical.estimate, "neutral", chanceText(outcome.typical.estimate)),
      el("figcaption", {}, el("strong", { text: chanceText(outcome.typical.estimate) }), el("br"),
        el("span", { text: t("typical_patient") })));
    return el("div", { class: "pair" }, mine, typical);
  }

  function oxfordScale(outcome, pre) {
    const width = 480;
    const x = (v) => 10 + (Math.max(0, Math.min(48, v)) / 48) * (width - 20);
    const chart = svg("svg", { viewBox: `0 0 ${width} 96`, class: "scale", role: "img",
      "aria-label": t("oxford_expected", { value: fmt(outcome.estimate) }) });
    config.bands.forEach((band, i) => {
      const next = i + 1 < config.bands.length ? config.bands[i + 1].lower : 48;
      chart.append(svg("rect", { x: x(band.lower), y: 34, width: x(next) - x(band.lower), height: 14, class: `band band-${i}` },
        svg("title", {}, `${band.lower}–${i + 1 < config.bands.length ? next - 1 : 48}: ${t(band.key)}`)));
    });
    for (const tick of [0, 10, 20, 30, 40, 48]) {
      chart.append(svg("text", { x: x(tick), y: 62, class: "tick", "text-anchor": "middle" }, String(tick)));
    }
    if (outcome.lower !== null && outcome.upper !== null) {
      chart.append(svg("rect", { x: x(outcome.lower), y: 38, width: Math.max(2, x(outcome.upper) - x(outcome.lower)),
        height: 6, class: "interval" }));
    }
    if (outcome.typical) {
      chart.append(svg("circle", { cx: x(outcome.typical.estimate), cy: 41, r: 6, class: "typical-mark" }));
      chart.append(svg("text", { x: x(outcome.typical.estimate), y: 80, class: "mark-label", "text-anchor": "middle" },
        t("scale_typical")));
    }
    if (pre !== null && pre !== undefined) {
      const px = x(pre);
      chart.append(svg("path", { d: `M${px - 7},18 L${px + 7},18 L${px},31 Z`, class: "pre-mark" }));
      chart.append(svg("text", { x: px, y: 13, class: "mark-label", "text-anchor": "middle" }, t("scale_before")));
    }
    const ex = x(outcome.estimate);
    chart.append(svg("circle", { cx: ex, cy: 41, r: 8, class: "expected-mark" }));
    chart.append(svg("text", { x: ex, y: 94, class: "mark-label strong", "text-anchor": "middle" }, t("scale_expected")));
    return chart;
  }

  function bandLabel(score) {
    let key = config.bands[0].key;
    for (const band of config.bands) if (score >= band.lower) key = band.key;
    return t(key);
  }

  function factorList(outcome) {
    if (!outcome || !outcome.applicable) return null;
    const words = FACTOR_WORDS[outcome.outcome] || (outcome.higher_is_better ? "chance" : "risk");
    const items = outcome.factors.map((f) => {
      const good = (f.direction === "up") === outcome.higher_is_better;
      let effect;
      if (f.effect_scale === "difference") {
        const unit = UNIT_KEYS[outcome.outcome] ? t(UNIT_KEYS[outcome.outcome]) : "";
        effect = `${f.effect > 0 ? "+" : "−"}${fmt(Math.abs(f.effect), 1)} ${unit}`.trim();
      } else {
        effect = t(f.effect_scale === "odds_ratio" ? "effect_odds" : "effect_ratio", { value: fmt(f.effect, 2) });
      }
      const value = valueText(f.field, f.value);
      return el("li", { class: good ? "good" : "bad" },
        el("span", { class: "arrow", "aria-hidden": "true", text: f.direction === "up" ? "▲" : "▼" }),
        el("strong", { text: fieldLabel(f.field) + (value ? `: ${value}` : "") }),
        ` ${t(`${f.direction === "up" ? "raises" : "lowers"}_${words}`)} (${effect})`);
    });
    let body = el("p", { text: t("factors_none") });
    if (!outcome.explained) body = el("p", { class: "muted", text: t("factors_unavailable") });
    else if (items.length) body = el("ul", {}, ...items);
    return el("div", { class: "factors", id: `factors-${outcome.outcome}` },
      el("h4", { text: t(`outcome_${outcome.outcome}`) }), body);
  }

  function naturalFrequency(level) {
    // 0.9 -> 9 in 10; 0.95 -> 95 in 100
    const tenths = level * 10;
    return Math.abs(tenths - Math.round(tenths)) < 1e-9 ? { x: Math.round(tenths), n: 10 }
      : { x: Math.round(level * 100), n: 100 };
  }

  function typicalText(outcome) {
    // a model with a population (return to work: employed) has its own typical patient
    const text = figureText(outcome, outcome.typical);
    const tp = outcome.typical_patient;
    if (!tp || !("employed" in outcome.population) || tp.age === null || tp.age === undefined) return text;
    return `${text} · ${t("typical_employed", { age: fmt(tp.age) })}`;
  }

  function figureText(outcome, figure) {
    if (!figure) return "";
    if (outcome.kind === "binary") return chanceText(figure.estimate);
    const digits = outcome.outcome === "eq5d_gain_12m" ? 2 : outcome.outcome === "los_days" ? 1 : 0;
    const unit = UNIT_KEYS[outcome.outcome] ? ` ${t(UNIT_KEYS[outcome.outcome])}` : "";
    let text = `${fmt(figure.estimate, digits)}${unit}`;
    if (figure.lower !== null && figure.lower !== undefined) {
      text += ` (${t("range_between", { low: fmt(figure.lower, digits), high: fmt(figure.upper, digits) })})`;
    }
    return text;
  }

  function renderResult(res) {
    const by = Object.fromEntries(res.outcomes.map((o) => [o.outcome, o]));
    const root = $("#result");
    root.replaceChildren();
    root.hidden = false;
    root.append(el("h2", { text: t("result_title") }));
    const tp = res.typical_patient || {};
    root.append(el("p", { class: "typical-note", text: t("typical_note", {
      joint: t(`joint_${res.joint}`).toLowerCase(),
      age: tp.age === undefined || tp.age === null ? "–" : fmt(tp.age),
      oxford: tp.oxford_pre === undefined || tp.oxford_pre === null ? "–" : fmt(tp.oxford_pre) }) }));

    if (res.cautions.length) {
      root.append(el("div", { class: "cautions", id: "cautions" }, el("h3", { text: t("cautions_title") }),
        el("ul", {}, ...res.cautions.map((c) => el("li", { text: c.kind === "range"
          ? t("caution_range", { field: fieldLabel(c.field), value: valueText(c.field, c.value),
            low: fmt(c.low, 1), high: fmt(c.high, 1) })
          : t("caution_category", { field: fieldLabel(c.field), value: valueText(c.field, c.value) }) })))));
    }

    const ox = by.oxford_12m;
    const pre = res.pre_op.oxford_pre;
    const oxCard = el("article", { class: "card", id: "card-oxford" }, el("h3", { text: t("oxford_title") }));
    oxCard.append(el("p", { class: "big" }, `${t("oxford_expected_label")} `,
      el("strong", { id: "oxford-expected", text: fmt(ox.estimate) }), ` ${t("unit_points")}`,
      el("span", { class: "band-label", text: ` · ${bandLabel(ox.estimate)}` })));
    if (ox.lower !== null && ox.interval_level) {
      oxCard.append(el("p", { id: "oxford-interval", text: t("oxford_interval", {
        ...naturalFrequency(ox.interval_level), low: fmt(ox.lower), high: fmt(ox.upper) }) }));
    }
    oxCard.append(el("p", { id: "oxford-before", text: pre === null ? t("oxford_before_unknown")
      : `${t("oxford_before", { value: fmt(pre) })} · ${bandLabel(pre)}` }));
    if (ox.typical) {
      oxCard.append(el("p", { class: "muted", id: "oxford-typical",
        text: t("oxford_typical", { value: fmt(ox.typical.estimate) }) }));
    }
    oxCard.append(oxfordScale(ox, pre));
    root.append(oxCard);

    const mic = by.mic_12m;
    const micCard = el("article", { class: "card", id: "card-mic" }, el("h3", { text: t("mic_title") }),
      el("p", { class: "muted", text: mic.threshold ? t("mic_text", { points: fmt(mic.threshold) }) : "" }),
      chancePanel(mic, "mic-chance"));
    root.append(micCard);

    const riskCard = el("article", { class: "card", id: "card-risks" }, el("h3", { text: t("risks_title") }));
    for (const name of RISKS) {
      const o = by[name];
      if (!o) continue;
      riskCard.append(el("div", { class: "risk" }, el("h4", { text: t(`outcome_${name}`) }), chancePanel(o, `risk-${name}`)));
    }
    root.append(riskCard);

    const rows = MORE.filter((name) => by[name]).map((name) => {
      const o = by[name];
      return el("tr", { id: `more-${name}` }, el("th", { scope: "row", text: t(`outcome_${name}`) }),
        el("td", { text: o.applicable ? figureText(o, o)
          : t("employed" in o.population ? "not_applicable" : "not_applicable_generic") }),
        el("td", { text: o.applicable ? typicalText(o) : "" }));
    });
    root.append(el("article", { class: "card", id: "card-more" }, el("h3", { text: t("more_title") }),
      el("table", {}, el("thead", {}, el("tr", {}, el("th"), el("th", { text: t("this_patient") }),
        el("th", { text: t("typical_patient") }))), el("tbody", {}, ...rows))));

    root.append(el("article", { class: "card", id: "card-factors" }, el("h3", { text: t("factors_title") }),
      el("p", { class: "muted", text: t("factors_intro") }), ...res.outcomes.map(factorList)));

    if (res.imputed.length) {
      root.append(el("div", { class: "imputed", id: "imputed" }, el("h3", { text: t("imputed_title") }),
        el("ul", {}, ...res.imputed.map((i) => {
          const v = valueText(i.field, i.value);
          return el("li", { "data-field": i.field,
            text: `${fieldLabel(i.field)} (${v || t("imputed_by_model")})` });
        }))));
    }

    const m = ox.model;
    root.append(el("details", { class: "models" }, el("summary", { text: t("models_title") }),
      el("p", { text: t("models_text", { first: m.training_years[0], last: m.training_years[1],
        test: m.test_year === null ? "–" : m.test_year, set: res.model_set }) }),
      el("ul", {}, ...res.outcomes.map((o) => el("li", { text: `${o.model.name} v${o.model.version}` }))),
      el("p", { class: "muted", text: t("request_id", { id: res.request_id }) })));
  }

  // ------------------------------------------------------------------- start
  async function start() {
    try {
      const response = await fetch("/static/i18n.json");
      labels = await response.json();
    } catch (e) {
      labels = null;
    }
    if (!config.lang) {
      try { lang = localStorage.getItem("vbhc-lang") || lang; } catch (e) { /* storage may be off */ }
    }
    if (location.hash.startsWith("#token=")) {
      try { sessionStorage.setItem("vbhc-token", decodeURIComponent(location.hash.slice(7))); } catch (e) { /* off */ }
      history.replaceState(null, "", location.pathname + location.search);
    }
    try { $("#f-token").value = sessionStorage.getItem("vbhc-token") || ""; } catch (e) { /* storage may be off */ }
    for (const button of $$("[data-lang]")) button.addEventListener("click", () => setLanguage(button.dataset.lang));
    for (const input of $$("input[name=joint], input[name=oxford_mode], input[name=eq5d_mode]")) {
      input.addEventListener("change", updateForm);
    }
    $("#patient-form").addEventListener("submit", submit);
    updateForm();
    applyLanguage();
    document.body.dataset.ready = "true";
  }

  start();
})();
