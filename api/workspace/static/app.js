/* geoplan workspace: sign in, map, what-if, plans, compare, export, station edits.
 * Plain ES2019 in one file, no build step; every string goes through t() and the catalogues
 * served at /workspace/i18n/<lang>.json (extracted by `python -m geoplan.i18n.extract`).
 * Works under a strict Content-Security-Policy: no inline scripts, no inline style attributes. */
(function () {
  "use strict";

  var TIERS = ["home", "station", "point"];
  var TIER_SIZE = {home: 16, station: 13, point: 12};
  var SHARE_BREAKS = [0.2, 0.4, 0.6, 0.8];
  var DIFF_BREAKS = [-0.05, -0.005, 0.005, 0.05];
  var LANG_KEY = "geoplan.lang";
  var TILE_URLS = {
    osm: ["https://tile.openstreetmap.org/{z}/{x}/{y}.png", {maxZoom: 19, attribution: "© OpenStreetMap"}],
    tianditu_vec: ["https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}",
      {subdomains: "01234567", maxZoom: 18, attribution: "© 天地图"}],
    tianditu_cva: ["https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}",
      {subdomains: "01234567", maxZoom: 18}],
    amap: ["https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
      {subdomains: "1234", maxZoom: 18, attribution: "© 高德地图"}]
  };

  var state = {
    lang: "zh", messages: {}, glossary: {}, user: null, csrf: null, config: null,
    coords: "wgs84", basemap: "osm", data: {}, baseline: null, plan: null, planId: null, assignment: null,
    picks: {force_open: {}, force_closed: {}, exclude_towns: {}, require_sites: {}},
    job: null, compare: null, proposing: false, sort: {key: "share_after", dir: 1}
  };
  var map, tiles = [], layers = {};

  // ------------------------------------------------------------------ i18n
  function t(message, values) {
    var text = state.messages[message] || message;
    if (values) {
      text = text.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, function (m, k) {
        return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
      });
    }
    return text;
  }
  function locale() { return state.lang === "zh" ? "zh-CN" : "en-GB"; }
  function num(v, d) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    return new Intl.NumberFormat(locale(), {maximumFractionDigits: d || 0, minimumFractionDigits: d || 0}).format(v);
  }
  function pct(v, d) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    return new Intl.NumberFormat(locale(), {style: "percent", maximumFractionDigits: d === undefined ? 1 : d,
      minimumFractionDigits: d === undefined ? 1 : d}).format(v);
  }
  function when(iso) {
    if (!iso) return "";
    return new Intl.DateTimeFormat(locale(), {dateStyle: "medium", timeStyle: "short"}).format(new Date(iso));
  }
  var TIER_LABEL = function (tier) {
    return {home: t("Deputy home"), station: t("Liaison station"), point: t("Contact point")}[tier] || tier;
  };
  var CATEGORY_LABEL = function (c) {
    return {market: t("farmers' market"), bank: t("rural commercial bank"), clinic: t("village clinic"),
      workshop: t("field workshop"), enterprise: t("leading enterprise"), service: t("public service window"),
      street: t("street")}[c] || c;
  };
  var DECISION_LABEL = function (d) {
    return {keep: t("kept"), close: t("closed by the plan"), open: t("new point"), absent: t("not in this plan")}[d] || d;
  };
  var SOLVE_STATUS = function (s) {
    return {optimal: t("optimal"), feasible: t("feasible: within the certified gap"), time_limit: t("time limit")}[s] || s;
  };
  var STATUS_LABEL = function (s) {
    return {active: t("active"), closed: t("closed"), proposed: t("proposed"), queued: t("queued"),
      running: t("running"), done: t("done"), failed: t("failed"), cancelled: t("cancelled")}[s] || s;
  };

  function loadLang(lang) {
    return fetch("/workspace/i18n/" + lang + ".json", {credentials: "same-origin"}).then(function (r) {
      return r.json();
    }).then(function (body) {
      state.lang = lang;
      state.messages = body.messages;
      state.glossary = body.glossary;
      try { window.localStorage.setItem(LANG_KEY, lang); } catch (e) { /* private mode */ }
      document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
      applyStatic();
    });
  }
  function applyStatic() {
    document.title = t("Deputy station planning workspace");
    var els = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < els.length; i++) els[i].textContent = t(els[i].getAttribute("data-i18n"));
    var sw = byId("lang-switch");
    sw.textContent = state.lang === "zh" ? "English" : "中文";
    sw.setAttribute("lang", state.lang === "zh" ? "en" : "zh-Hans");
    sw.setAttribute("aria-label", state.lang === "zh" ? "Switch to English" : "切换到中文");
    byId("map").setAttribute("aria-label", t("Map"));
  }

  // ------------------------------------------------------------------ DOM helpers
  function byId(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") e.textContent = v;
        else if (k === "cls") e.className = v;
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // ------------------------------------------------------------------ requests
  function ApiError(status, detail) { this.status = status; this.detail = detail; }
  function api(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (method !== "GET" && state.csrf) opts.headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          if (r.status === 401 && state.user && url.indexOf("/workspace/session") < 0) showLogin();
          throw new ApiError(r.status, (data && data.detail) || r.statusText);
        }
        return data;
      });
    });
  }
  function failMessage(err) {
    if (err instanceof ApiError) return t("The service refused: {detail}", {detail: err.detail});
    return t("The request failed: {detail}", {detail: String(err && err.message || err)});
  }

  // ------------------------------------------------------------------ sign in / out
  function showLogin() {
    state.user = null;
    state.csrf = null;
    byId("app-view").hidden = true;
    byId("logout").hidden = true;
    byId("who").textContent = "";
    byId("login-view").hidden = false;
    byId("login-token").focus();
  }
  function signedIn(session) {
    state.user = session;
    state.csrf = session.csrf;
    byId("login-view").hidden = true;
    byId("app-view").hidden = false;
    byId("logout").hidden = false;
    byId("login-token").value = "";
    return start();
  }
  function whoText() {
    var u = state.user;
    if (!u) return "";
    var role = u.role === "city_planner" ? t("city planner") : t("county planner");
    var county = u.county_code ? countyName(u.county_code) : "";
    return u.name + " · " + role + (county ? " · " + county : "");
  }
  function bindLogin() {
    byId("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = byId("login-token").value;
      byId("login-error").textContent = "";
      api("POST", "/workspace/session", {token: token}).then(function (s) {
        return signedIn(s).catch(function (err) {  // signed in, but the workspace failed to start
          if (window.console) window.console.error(err);
          byId("job-message").textContent = failMessage(err);
        });
      }).catch(function (err) {
        byId("login-error").textContent = err.status === 403 ? t("This account has no workspace (service account).")
          : err.status === 401 || err.status === 422 ? t("Unknown token.") : failMessage(err);
        byId("login-token").select();
      });
    });
    byId("logout").addEventListener("click", function () {
      api("DELETE", "/workspace/session").then(function () { window.location.reload(); });
    });
    byId("lang-switch").addEventListener("click", function () {
      loadLang(state.lang === "zh" ? "en" : "zh").then(function () {
        if (state.user) return rerender();
      });
    });
  }

  // ------------------------------------------------------------------ start
  function start() {
    return api("GET", "/workspace/config").then(function (cfg) {
      state.config = cfg;
      byId("who").textContent = whoText();
      buildForm();
      if (!map) initMap();
      return Promise.all([loadLayers(), api("GET", "/workspace/baseline").then(function (b) { state.baseline = b; })]);
    }).then(function () {
      drawAll();
      refreshPlans();
    });
  }
  function rerender() {
    byId("who").textContent = whoText();
    if (!state.job) byId("job-message").textContent = "";  // the last message was in the other language
    buildFormLabels();
    renderPicks();
    var p = state.planId ? openPlan(state.planId, true) : Promise.resolve();
    return p.then(function () {
      drawAll();
      refreshPlans();
      if (state.compare) runCompare();
    });
  }

  // ------------------------------------------------------------------ permissions
  function mayEdit(countyCode) {
    var u = state.user;
    if (!u) return false;
    if (u.role === "city_planner") return true;
    return u.role === "county_planner" && countyCode === u.county_code;
  }
  function countyName(code) {
    var list = (state.config && state.config.counties) || [];
    for (var i = 0; i < list.length; i++) if (list[i].code === code) return list[i].name;
    return code || t("whole city");
  }
  function townInfo(code) {
    var f = (state.data.towns || {})[code];
    return f ? f.properties : {code: code, name: code};
  }

  // ------------------------------------------------------------------ scenario form
  function buildForm() {
    var cfg = state.config, d = cfg.scenario_defaults;
    var scope = clear(byId("sc-scope"));
    if (state.user.role === "city_planner") scope.appendChild(el("option", {value: "", text: t("whole city")}));
    cfg.counties.forEach(function (c) {
      if (mayEdit(c.code)) scope.appendChild(el("option", {value: c.code, text: c.name}));
    });
    byId("sc-budget").value = Math.min(d.budget, 20);
    TIERS.forEach(function (tier) { byId("sc-r-" + tier).value = d.radius_m[tier]; });
    byId("sc-footfall").value = d.footfall_weight;
    byId("sc-min-town").checked = d.min_per_town;
    byId("sc-closures").checked = d.allow_closures;
    var cats = clear(byId("sc-categories"));
    cats.appendChild(el("legend", {"data-i18n": "Venue category weights", text: t("Venue category weights")}));
    var grid = el("div", {cls: "grid"});
    cfg.categories.forEach(function (c) {
      var w = d.category_weights[c] !== undefined ? d.category_weights[c] : 1;
      grid.appendChild(el("label", {"for": "sc-w-" + c, "data-cat": c, text: CATEGORY_LABEL(c)}));
      grid.appendChild(el("input", {id: "sc-w-" + c, type: "number", min: "0", max: "10000", step: "any", value: w,
        "data-testid": "weight-" + c}));
    });
    cats.appendChild(grid);
    var tiers = clear(byId("sc-tiers"));
    tiers.appendChild(el("legend", {"data-i18n": "Tiers reviewed for closure", text: t("Tiers reviewed for closure")}));
    TIERS.forEach(function (tier) {
      var box = el("input", {id: "sc-ct-" + tier, type: "checkbox", "data-testid": "closable-" + tier});
      box.checked = d.closable_tiers.indexOf(tier) >= 0;
      tiers.appendChild(el("div", {cls: "check"}, [box, el("label", {"for": "sc-ct-" + tier, "data-tier": tier,
        text: TIER_LABEL(tier)})]));
    });
    byId("sc-distance").querySelector("option[value=road]").disabled = !cfg.road_network;
    renderPicks();
  }
  function buildFormLabels() {
    var labels = document.querySelectorAll("[data-cat]");
    for (var i = 0; i < labels.length; i++) labels[i].textContent = CATEGORY_LABEL(labels[i].getAttribute("data-cat"));
    var tl = document.querySelectorAll("label[data-tier]");
    for (var j = 0; j < tl.length; j++) tl[j].textContent = TIER_LABEL(tl[j].getAttribute("data-tier"));
    var scope = byId("sc-scope").querySelector("option[value='']");
    if (scope) scope.textContent = t("whole city");
  }
  function scenarioFromForm() {
    var cfg = state.config, radius = {}, weights = {}, closable = [];
    TIERS.forEach(function (tier) {
      radius[tier] = parseFloat(byId("sc-r-" + tier).value);
      if (byId("sc-ct-" + tier).checked) closable.push(tier);
    });
    cfg.categories.forEach(function (c) { weights[c] = parseFloat(byId("sc-w-" + c).value); });
    var now = new Date();
    var sc = {
      name: t("Draft {time}", {time: new Intl.DateTimeFormat(locale(), {timeStyle: "short"}).format(now)}),
      budget: parseInt(byId("sc-budget").value, 10), radius_m: radius, distance: byId("sc-distance").value,
      footfall_weight: parseFloat(byId("sc-footfall").value), category_weights: weights,
      min_per_town: byId("sc-min-town").checked, allow_closures: byId("sc-closures").checked,
      closable_tiers: closable, force_open: Object.keys(state.picks.force_open),
      force_closed: Object.keys(state.picks.force_closed), exclude_towns: Object.keys(state.picks.exclude_towns)
    };
    if (cfg.require_sites) sc.require_sites = Object.keys(state.picks.require_sites);
    return sc;
  }
  function renderPicks() {
    var box = clear(byId("sc-picks"));
    var groups = [["force_open", t("Forced open")], ["force_closed", t("Forced closed")],
      ["exclude_towns", t("Towns without new points")], ["require_sites", t("Required venues")]];
    groups.forEach(function (g) {
      var ids = Object.keys(state.picks[g[0]]);
      if (!ids.length) return;
      box.appendChild(el("h4", {text: g[1]}));
      ids.forEach(function (id) {
        var label = state.picks[g[0]][id];
        box.appendChild(el("span", {cls: "chip"}, [label, el("button", {type: "button",
          "aria-label": t("Remove {name}", {name: label}), text: "×",
          onclick: function () { delete state.picks[g[0]][id]; renderPicks(); drawStations(); drawTowns(); }})]));
      });
    });
    if (!box.firstChild) box.appendChild(el("p", {cls: "hint", text: t("Click a station, town or venue on the map to force, exclude or require it.")}));
  }
  function togglePick(kind, id, label, other) {
    if (state.picks[kind][id]) delete state.picks[kind][id];
    else {
      state.picks[kind][id] = label;
      if (other) delete state.picks[other][id];
    }
    renderPicks();
    map.closePopup();
    drawStations();
    drawTowns();
    drawVenues();
  }

  // ------------------------------------------------------------------ run a job
  function bindRun() {
    byId("scenario-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (state.job) return;
      var county = byId("sc-scope").value || null;
      var body = {county_code: county, scenario: scenarioFromForm()};
      byId("job-message").textContent = t("Starting…");
      byId("progress").value = 0;
      byId("run").disabled = true;
      api("POST", "/scenarios?mode=async", body).then(function (s) {
        state.job = s.id;
        byId("cancel").hidden = false;
        poll(s.id);
      }).catch(function (err) {
        byId("run").disabled = false;
        byId("job-message").textContent = failMessage(err);
      });
    });
    byId("cancel").addEventListener("click", function () {
      if (!state.job) return;
      api("POST", "/scenarios/" + state.job + "/cancel").catch(function (err) {
        byId("job-message").textContent = failMessage(err);
      });
    });
  }
  function poll(id) {
    api("GET", "/scenarios/" + id).then(function (s) {
      byId("progress").value = s.progress;
      byId("progress").setAttribute("aria-valuetext", pct(s.progress, 0));
      if (s.status === "queued" || s.status === "running") {
        byId("job-message").textContent = s.status === "queued" ? t("Waiting for a free solver…") : t("Solving: {percent}", {percent: pct(s.progress, 0)});
        window.setTimeout(function () { poll(id); }, 400);
        return;
      }
      state.job = null;
      byId("run").disabled = false;
      byId("cancel").hidden = true;
      if (s.status === "done") {
        byId("job-message").textContent = t("Done.");
        openPlan(id).then(refreshPlans);
      } else {
        byId("job-message").textContent = s.status === "cancelled" ? t("Cancelled.")
          : t("The run failed: {error}", {error: s.error || ""});
        refreshPlans();
      }
    }).catch(function (err) {
      state.job = null;
      byId("run").disabled = false;
      byId("cancel").hidden = true;
      byId("job-message").textContent = failMessage(err);
    });
  }

  // ------------------------------------------------------------------ plans
  function openPlan(id, quiet) {
    return api("GET", "/workspace/plans/" + id + "?coords=" + state.coords + "&lang=" + state.lang).then(function (p) {
      state.plan = p;
      state.planId = id;
      state.assignment = null;
      byId("show-assign").disabled = false;
      byId("show-assign").checked = false;
      if (layers.assign) layers.assign.clearLayers();
      if (!quiet) {
        state.compare = null;
        clear(byId("compare-result"));
      }
      renderResult();
      drawAll();
    });
  }
  function refreshPlans() {
    return api("GET", "/workspace/plans").then(function (body) {
      var was = ticked();  // keep the planner's ticks when the list is refreshed
      var ul = clear(byId("plan-list"));
      if (!body.items.length) ul.appendChild(el("li", {cls: "hint", text: t("No plans yet: run a scenario.")}));
      body.items.forEach(function (p) {
        var done = p.status === "done";
        var box = el("input", {type: "checkbox", value: p.id, "data-testid": "plan-pick", disabled: !done,
          "aria-label": t("Compare {name}", {name: p.name}), onchange: updateCompareButton});
        box.checked = done && was.indexOf(p.id) >= 0;
        ul.appendChild(el("li", {"data-plan": p.id}, [box,
          el("span", {cls: "nm"}, [p.name, el("br"), el("span", {cls: "st",
            text: STATUS_LABEL(p.status) + " · " + countyName(p.county_code) + " · " + p.owner + " · " + when(p.created_at)})]),
          done ? el("button", {type: "button", text: t("Open"), "data-testid": "plan-open",
            "aria-label": t("Open {name}", {name: p.name}), onclick: function () { openPlan(p.id); }}) : null]));
      });
      updateCompareButton();
    });
  }
  function ticked() {
    var boxes = byId("plan-list").querySelectorAll("input[type=checkbox]:checked");
    return Array.prototype.map.call(boxes, function (b) { return b.value; });
  }
  function updateCompareButton() { byId("compare").disabled = ticked().length !== 2; }

  // ------------------------------------------------------------------ results
  function renderResult() {
    var p = state.plan, m = p.metrics, s = byId("summary");
    clear(s);
    s.appendChild(el("h2", {text: p.name}));
    s.appendChild(el("p", {cls: "hint", text: countyName(p.county_code) + " · " + p.owner}));
    var rows = [
      [t("Population"), num(m.population)],
      [t("People within reach before"), num(m.people_before) + " (" + pct(m.share_before) + ")"],
      [t("People within reach after"), el("span", {}, [num(m.people_after) + " (",
        el("span", {"data-testid": "covered-after", id: "covered-after", text: pct(m.share_after)}), ")"])],
      [t("New points opened"), num(m.n_open) + " / " + num(p.scenario.budget)],
      [t("Stations closed"), num(m.n_close)],
      [t("Stations kept"), num(m.n_keep)],
      [t("Towns without a station"), num(m.towns_without_station)],
      [t("Certified gap"), pct(m.gap, 2) + " · " + m.solver + " (" + SOLVE_STATUS(m.status) + ")"],
      [t("Mean distance to the nearest station"), num(m.mean_distance_before_m / 1000, 1) + " → " +
        num(m.mean_distance_after_m / 1000, 1) + " " + t("km")]
    ];
    var tb = el("tbody");
    rows.forEach(function (r) { tb.appendChild(el("tr", {}, [el("th", {scope: "row", text: r[0]}), el("td", {}, [r[1]])])); });
    s.appendChild(el("table", {}, [tb]));
    byId("save-export").hidden = false;
    byId("plan-name").value = p.name;
    byId("save-status").textContent = "";
    var ex = clear(byId("export"));
    var base = "/workspace/plans/" + p.id;
    [["/scenarios/" + p.id + "/export", t("GeoPackage"), "export-gpkg"],
      [base + "/export.csv?table=stations&lang=" + state.lang, t("Stations (CSV)"), "export-csv"],
      [base + "/export.csv?table=towns&lang=" + state.lang, t("Towns (CSV)"), "export-towns-csv"],
      [base + "/map?lang=" + state.lang, t("Standalone map (HTML)"), "export-map"]].forEach(function (x) {
      ex.appendChild(el("a", {href: x[0], download: "", "data-testid": x[2], text: x[1]}));
    });
    renderReasons();
    renderTownTable();
  }
  function renderReasons() {
    var box = clear(byId("reasons"));
    var feats = state.plan.stations.features;
    [["open", t("New points and why")], ["close", t("Closures and why")]].forEach(function (g) {
      var list = feats.filter(function (f) { return f.properties.decision === g[0]; });
      box.appendChild(el("h3", {text: g[1] + " (" + num(list.length) + ")"}));
      var ul = el("ul");
      list.slice(0, 200).forEach(function (f) {
        ul.appendChild(el("li", {}, [el("strong", {text: f.properties.name + ": "}), f.properties.reason]));
      });
      box.appendChild(ul);
    });
  }
  function renderTownTable() {
    var box = clear(byId("town-table"));
    var towns = (state.plan.towns || []).slice();
    var cols = [["name", t("Town"), false], ["county", t("County"), false], ["population", t("Population"), true],
      ["share_before", t("Within reach before"), true], ["share_after", t("Within reach after"), true],
      ["stations_after", t("Stations after"), true]];
    towns.forEach(function (r) { r.county = countyName(r.county_code); });
    var key = state.sort.key, dir = state.sort.dir;
    towns.sort(function (a, b) {
      var x = a[key], y = b[key];
      if (typeof x === "string") return dir * x.localeCompare(y, locale());
      return dir * ((x || 0) - (y || 0));
    });
    var head = el("tr");
    cols.forEach(function (c) {
      var sorted = c[0] === key;
      head.appendChild(el("th", {scope: "col", cls: c[2] ? "num" : "", "aria-sort": sorted ? (dir > 0 ? "ascending" : "descending") : "none"},
        [el("button", {type: "button", "data-sort": c[0], text: c[1] + (sorted ? (dir > 0 ? " ▲" : " ▼") : ""),
          onclick: function () {
            state.sort = {key: c[0], dir: state.sort.key === c[0] ? -state.sort.dir : 1};
            renderTownTable();
            var again = byId("town-table").querySelector("button[data-sort='" + c[0] + "']");
            if (again) again.focus();
          }})]));
    });
    var body = el("tbody");
    towns.forEach(function (r) {
      body.appendChild(el("tr", {}, [el("td", {text: r.name}), el("td", {text: r.county}),
        el("td", {cls: "num", text: num(r.population)}), el("td", {cls: "num", text: pct(r.share_before)}),
        el("td", {cls: "num", text: pct(r.share_after)}), el("td", {cls: "num", text: num(r.stations_after)})]));
    });
    box.appendChild(el("h3", {text: t("Counties")}));
    var ch = el("tr", {}, [t("County"), t("Population"), t("Within reach before"), t("Within reach after"),
      t("Stations after")].map(function (x, i) { return el("th", {scope: "col", cls: i ? "num" : "", text: x}); }));
    var cb = el("tbody");
    (state.plan.counties || []).forEach(function (r) {
      cb.appendChild(el("tr", {}, [el("td", {text: r.name}), el("td", {cls: "num", text: num(r.population)}),
        el("td", {cls: "num", text: pct(r.share_before)}), el("td", {cls: "num", text: pct(r.share_after)}),
        el("td", {cls: "num", text: num(r.stations_after)})]));
    });
    box.appendChild(el("table", {"data-testid": "county-table"}, [el("thead", {}, [ch]), cb]));
    box.appendChild(el("h3", {text: t("Towns")}));
    box.appendChild(el("table", {}, [el("thead", {}, [head]), body]));
  }
  function bindSave() {
    byId("save").addEventListener("click", function () {
      if (!state.plan) return;
      var name = byId("plan-name").value.trim();
      if (!name) { byId("save-status").textContent = t("Give the plan a name."); return; }
      api("PUT", "/workspace/plans/" + state.plan.id + "/name", {name: name}).then(function () {
        state.plan.name = name;
        byId("save-status").textContent = t("Saved.");
        renderResult();
        byId("save-status").textContent = t("Saved.");
        refreshPlans();
      }).catch(function (err) { byId("save-status").textContent = failMessage(err); });
    });
  }

  // ------------------------------------------------------------------ compare
  function runCompare() {
    var ids = state.compare ? [state.compare.a.id, state.compare.b.id] : ticked();
    if (ids.length !== 2) return Promise.resolve();
    return api("GET", "/workspace/compare?a=" + ids[0] + "&b=" + ids[1] + "&coords=" + state.coords).then(function (c) {
      state.compare = c;
      var box = clear(byId("compare-result"));
      box.appendChild(el("h3", {text: t("{b} compared with {a}", {a: c.a.name, b: c.b.name})}));
      var labels = {people_after: t("People within reach after"), share_after: t("Share within reach after"),
        n_open: t("New points opened"), n_close: t("Stations closed"), n_keep: t("Stations kept"),
        towns_without_station: t("Towns without a station"), mean_distance_after_m: t("Mean distance after (m)")};
      var tb = el("tbody");
      c.metrics.forEach(function (r) {
        if (!labels[r.metric]) return;
        var share = r.metric.indexOf("share") === 0;
        var f = share ? function (v) { return pct(v); } : function (v) { return num(v); };
        tb.appendChild(el("tr", {"data-metric": r.metric}, [el("th", {scope: "row", text: labels[r.metric]}),
          el("td", {cls: "num", text: f(r.a)}), el("td", {cls: "num", text: f(r.b)}),
          el("td", {cls: "num", text: (r.difference > 0 ? "+" : "") + f(r.difference)})]));
      });
      box.appendChild(el("table", {}, [el("thead", {}, [el("tr", {}, [el("th", {text: ""}), el("th", {cls: "num", text: c.a.name}),
        el("th", {cls: "num", text: c.b.name}), el("th", {cls: "num", text: t("Difference")})])]), tb]));
      box.appendChild(el("p", {text: t("Stations with a different decision: {n}", {n: num(c.stations.features.length)})}));
      var ul = el("ul");
      c.stations.features.slice(0, 100).forEach(function (f) {
        ul.appendChild(el("li", {text: f.properties.name + ": " + DECISION_LABEL(f.properties.decision_a) + " → " + DECISION_LABEL(f.properties.decision_b)}));
      });
      box.appendChild(ul);
      drawAll();
    }).catch(function (err) { byId("compare-result").textContent = failMessage(err); });
  }

  // ------------------------------------------------------------------ map
  function initMap() {
    map = L.map("map", {preferCanvas: true, zoomControl: true, keyboard: true, minZoom: 5, maxZoom: 18});
    var b = state.config.bounds;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    // towns and county outlines share one canvas (a second canvas on top would swallow the clicks);
    // the outlines are drawn after the towns, so they stay on top
    map.createPane("towns").style.zIndex = 350;
    layers.towns = L.geoJSON(null, {pane: "towns", style: townStyle, onEachFeature: bindTown});
    layers.counties = L.geoJSON(null, {pane: "towns", interactive: false,
      style: function () { return {color: "#37474f", weight: 2, fill: false}; }});
    layers.stations = L.markerClusterGroup({disableClusteringAtZoom: 12, maxClusterRadius: 45, chunkedLoading: true,
      showCoverageOnHover: false});
    layers.venues = L.markerClusterGroup({disableClusteringAtZoom: 15, maxClusterRadius: 60, chunkedLoading: true,
      showCoverageOnHover: false});
    layers.assign = L.geoJSON(null, {interactive: false,
      style: function (f) { return {color: f.properties.sector_match ? "#b2182b" : "#2166ac", weight: 1.3, opacity: 0.6}; }});
    layers.towns.addTo(map);
    layers.counties.addTo(map);
    layers.assign.addTo(map);
    layers.stations.addTo(map);
    setBasemap(state.basemap);
    map.on("click", onMapClick);
    map.on("zoomend", function () {
      if (map.getZoom() >= 13 && !byId("show-venues").checked && !state.venuesAuto) {
        state.venuesAuto = true;
        byId("show-venues").checked = true;
        toggleVenues();
      }
    });
    byId("basemap").addEventListener("change", function () { setBasemap(byId("basemap").value); });
    byId("show-venues").addEventListener("change", toggleVenues);
    byId("show-assign").addEventListener("change", toggleAssignment);
    window.gpWorkspace = {map: map, state: state, layers: layers};  // for the docs' walkthrough and the tests
  }
  function setBasemap(name) {
    if (name === "tianditu" && !state.config.tianditu_key) {
      byId("job-message").textContent = t("Tianditu needs a key: set GEOPLAN_TIANDITU_KEY on the server.");
      name = "none";
    }
    tiles.forEach(function (l) { map.removeLayer(l); });
    tiles = [];
    var add = function (key) {
      var spec = TILE_URLS[key], opts = L.extend({}, spec[1]);
      if (key.indexOf("tianditu") === 0) opts.tk = state.config.tianditu_key;
      var layer = L.tileLayer(spec[0], opts).addTo(map);
      layer.bringToBack();
      tiles.push(layer);
    };
    if (name === "osm") add("osm");
    else if (name === "tianditu") { add("tianditu_vec"); add("tianditu_cva"); }
    else if (name === "amap") add("amap");
    byId("basemap").value = name;
    state.basemap = name;
    var coords = name === "amap" ? "gcj02" : "wgs84";
    if (coords !== state.coords) {
      state.coords = coords;
      state.data = {};
      state.venuesLoaded = false;
      var p = loadLayers();
      if (byId("show-venues").checked) p = p.then(loadVenues);
      if (state.planId) p = p.then(function () { return openPlan(state.planId, true); });
      if (state.compare) p = p.then(runCompare);
      if (state.assignment) p = p.then(loadAssignment);
      p.then(drawAll);
    }
  }
  function loadLayers() {
    var c = state.coords;
    return Promise.all(["counties", "towns", "stations"].map(function (name) {
      return api("GET", "/workspace/layers/" + name + "?coords=" + c).then(function (fc) {
        var byKey = {};
        fc.features.forEach(function (f) { byKey[f.id] = f; });
        state.data[name] = byKey;
        state.data[name + "_fc"] = fc;
      });
    }));
  }
  function loadVenues() {
    return api("GET", "/workspace/layers/venues?coords=" + state.coords).then(function (fc) {
      state.data.venues_fc = fc;
      state.venuesLoaded = true;
    });
  }
  function toggleVenues() {
    if (byId("show-venues").checked) {
      (state.venuesLoaded ? Promise.resolve() : loadVenues()).then(function () { drawVenues(); map.addLayer(layers.venues); });
    } else map.removeLayer(layers.venues);
    drawLegend();
  }
  function loadAssignment() {
    return api("GET", "/workspace/plans/" + state.planId + "/assignment?coords=" + state.coords).then(function (a) {
      state.assignment = a;
      layers.assign.clearLayers();
      layers.assign.addData(a.links);
    });
  }
  function toggleAssignment() {
    if (byId("show-assign").checked) {
      byId("job-message").textContent = t("Assigning deputy groups…");
      loadAssignment().then(function () { byId("job-message").textContent = ""; drawLegend(); })
        .catch(function (err) { byId("job-message").textContent = failMessage(err); });
    } else {
      layers.assign.clearLayers();
      state.assignment = null;
      drawLegend();
    }
  }

  function drawAll() {
    if (!map) return;
    layers.counties.clearLayers();
    layers.towns.clearLayers();
    if (state.data.towns_fc) layers.towns.addData(state.data.towns_fc);
    if (state.data.counties_fc) layers.counties.addData(state.data.counties_fc);
    drawStations();
    if (byId("show-venues").checked) drawVenues();
    drawLegend();
  }

  // towns ----------------------------------------------------------------
  function townShares() {
    var out = {};
    (state.baseline ? state.baseline.towns : []).forEach(function (r) {
      out[r.code] = {share: r.share_before, population: r.population, stations: r.stations_before, covered: r.covered_before};
    });
    if (state.plan) {
      state.plan.towns.forEach(function (r) {
        out[r.code] = {share: r.share_after, population: r.population, stations: r.stations_after, covered: r.covered_after,
          before: r.share_before};
      });
    }
    if (state.compare) {
      state.compare.towns.forEach(function (r) { if (out[r.code]) out[r.code].diff = r.diff; });
    }
    return out;
  }
  function klass(v, breaks) {
    for (var i = 0; i < breaks.length; i++) if (v < breaks[i]) return i;
    return breaks.length;
  }
  var SHARE_COLORS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"];
  var DIFF_COLORS = ["#b2182b", "#f4a582", "#f7f7f7", "#92c5de", "#2166ac"];
  function townStyle(f) {
    var s = (state.shares || {})[f.id] || {};
    var excluded = !!state.picks.exclude_towns[f.id];
    var color = "#cfd8dc";
    if (state.compare && s.diff !== undefined) color = DIFF_COLORS[klass(s.diff, DIFF_BREAKS)];
    else if (s.share !== undefined) color = SHARE_COLORS[klass(s.share, SHARE_BREAKS)];
    return {color: excluded ? "#d50000" : "#607d8b", weight: excluded ? 2.5 : 0.7, dashArray: excluded ? "4 3" : null,
      fillColor: color, fillOpacity: 0.45};
  }
  function drawTowns() {
    state.shares = townShares();
    layers.towns.setStyle(townStyle);
  }
  function bindTown(f, layer) {
    layer.on("click", function (ev) {
      if (state.proposing) return;  // the map click handler places the proposed station
      L.DomEvent.stopPropagation(ev);
      var s = (state.shares || {})[f.id] || {};
      var p = f.properties, box = el("div", {cls: "popup"});
      box.appendChild(el("h3", {text: p.name}));
      box.appendChild(el("p", {text: countyName(p.county_code)}));
      var tb = el("tbody");
      [[t("Population"), num(s.population)], [t("Share within reach"), pct(s.share)],
        [t("People within reach"), num(s.covered)], [t("Stations"), num(s.stations)]].forEach(function (r) {
        tb.appendChild(el("tr", {}, [el("td", {text: r[0]}), el("td", {text: r[1]})]));
      });
      if (s.diff !== undefined && state.compare) tb.appendChild(el("tr", {}, [el("td", {text: t("Change in share")}), el("td", {text: pct(s.diff)})]));
      box.appendChild(el("table", {}, [tb]));
      if (mayEdit(p.county_code)) {
        var excluded = !!state.picks.exclude_towns[f.id];
        box.appendChild(el("div", {cls: "actions"}, [el("button", {type: "button", "data-testid": "exclude-town",
          text: excluded ? t("Allow new points here") : t("Exclude from new points"),
          onclick: function () { togglePick("exclude_towns", f.id, p.name); }})]));
      } else box.appendChild(el("p", {cls: "hint", text: t("Read-only: another county.")}));
      L.popup().setLatLng(ev.latlng).setContent(box).openOn(map);
    });
  }

  // stations ---------------------------------------------------------------
  function stationFeatures() {
    var base = state.data.stations_fc ? state.data.stations_fc.features : [];
    if (state.compare) return state.compare.stations.features.map(function (f) {
      return {type: "Feature", id: f.id, geometry: f.geometry, properties: L.extend({}, f.properties,
        {decision: f.properties.decision_b, compared: true})};
    });
    if (!state.plan) return base;
    var inPlan = {}, out = [];
    state.plan.stations.features.forEach(function (f) { inPlan[f.id] = true; out.push(f); });
    base.forEach(function (f) { if (!inPlan[f.id] && f.properties.status !== "closed") out.push(f); });
    return out;
  }
  function stationClass(p) {
    var cls = "gp-icon gp-" + (p.tier || "point");
    if (p.decision === "open") cls += " gp-open";
    else if (p.decision === "close") cls += " gp-close";
    else if (p.status === "closed") cls += " gp-closed";
    else if (p.status === "proposed") cls += " gp-proposed";
    if (state.picks.force_open[p.id]) cls += " gp-forced-open";
    if (state.picks.force_closed[p.id]) cls += " gp-forced-closed";
    return cls;
  }
  function drawStations() {
    if (!map) return;
    state.shares = townShares();
    layers.stations.clearLayers();
    var markers = stationFeatures().map(function (f) {
      var p = f.properties, size = TIER_SIZE[p.tier] || 12;
      var icon = L.divIcon({className: "gp-marker", iconSize: [size, size],
        html: '<div class="' + stationClass(p) + '" data-id="' + String(f.id).replace(/[^A-Za-z0-9_.-]/g, "") + '"></div>'});
      var ll = f.geometry.coordinates;
      var mk = L.marker([ll[1], ll[0]], {icon: icon, keyboard: true, title: p.name,
        alt: p.name, riseOnHover: true});
      mk.featureId = f.id;
      mk.on("click", function () { openStation(f, mk); });
      return mk;
    });
    layers.stations.addLayers(markers);
  }
  function county_of(p) { return p.county_code || (townInfo(p.town_code).county_code); }
  function openStation(f, marker) {
    var p = L.extend({}, (state.data.stations || {})[f.id] ? state.data.stations[f.id].properties : {}, f.properties);
    var box = el("div", {cls: "popup", "data-testid": "station-popup"});
    box.appendChild(el("h3", {text: p.name}));
    box.appendChild(el("p", {text: TIER_LABEL(p.tier) + " · " + townInfo(p.town_code).name + " · " +
      (p.decision ? DECISION_LABEL(p.decision) : STATUS_LABEL(p.status))}));
    var tb = el("tbody");
    var rows = [];
    if (p.reach_people !== undefined) {
      rows.push([t("People within reach"), num(p.reach_people)]);
      rows.push([t("People only it reaches"), num(p.unique_people)]);
    }
    if (p.footfall) rows.push([t("Footfall per day"), num(p.footfall)]);
    var a = state.assignment && state.assignment.by_station[f.id];
    if (a) {
      rows.push([t("Deputy groups"), num(a.groups.length) + (a.groups.length ? ": " + a.groups.slice(0, 6).join(", ") : "")]);
      rows.push([t("Conveners"), a.conveners.length ? a.conveners.join(", ") : "–"]);
    }
    if (p.compared) {
      rows.push([t("Decision in {name}", {name: state.compare.a.name}), DECISION_LABEL(p.decision_a)]);
      rows.push([t("Decision in {name}", {name: state.compare.b.name}), DECISION_LABEL(p.decision_b)]);
    }
    rows.forEach(function (r) { tb.appendChild(el("tr", {}, [el("td", {text: r[0]}), el("td", {text: r[1]})])); });
    box.appendChild(el("table", {}, [tb]));
    if (p.reason) box.appendChild(el("p", {cls: "reason"}, [el("strong", {text: t("Why") + ": "}), p.reason]));
    if (!a && state.plan && p.decision !== "close") box.appendChild(el("p", {cls: "hint", text: t("Tick “Deputy groups → stations” to see its groups and conveners.")}));
    var county = county_of(p);
    var existing = String(f.id).indexOf("new-") !== 0;
    if (mayEdit(county) && existing) {
      var acts = el("div", {cls: "actions"});
      if (p.status === "active" || p.decision) {
        acts.appendChild(el("button", {type: "button", "data-testid": "force-open",
          text: state.picks.force_open[f.id] ? t("Stop forcing open") : t("Force open"),
          onclick: function () { togglePick("force_open", f.id, p.name, "force_closed"); }}));
        acts.appendChild(el("button", {type: "button", "data-testid": "force-closed",
          text: state.picks.force_closed[f.id] ? t("Stop forcing closed") : t("Force closed"),
          onclick: function () { togglePick("force_closed", f.id, p.name, "force_open"); }}));
      }
      acts.appendChild(el("button", {type: "button", "data-testid": "station-history", text: t("History"),
        onclick: function () { showHistory(f.id, p.name); }}));
      box.appendChild(acts);
      var reason = el("input", {type: "text", maxlength: "1000", "data-testid": "edit-reason",
        "aria-label": t("Reason for the change"), placeholder: t("Reason for the change")});
      var status = p.status || "active";
      var act = status === "active" ? "close" : "reopen";
      box.appendChild(el("div", {cls: "actions"}, [reason, el("button", {type: "button", "data-testid": "station-" + act,
        text: act === "close" ? t("Close this station") : t("Reopen this station"),
        onclick: function () {
          api("POST", "/stations/" + encodeURIComponent(f.id) + "/" + act, {reason: reason.value}).then(function () {
            map.closePopup();
            return loadLayers();
          }).then(function () { drawStations(); showHistory(f.id, p.name); }).catch(function (err) {
            box.appendChild(el("p", {cls: "error", role: "alert", text: failMessage(err)}));
          });
        }})]));
    } else if (!mayEdit(county)) box.appendChild(el("p", {cls: "hint", text: t("Read-only: another county.")}));
    L.popup({maxWidth: 320, offset: [0, -4]}).setLatLng(marker.getLatLng()).setContent(box).openOn(map);
  }
  function showHistory(id, name) {
    selectTab("edits");
    api("GET", "/stations/" + encodeURIComponent(id) + "/history").then(function (rows) {
      var ul = clear(byId("history"));
      ul.appendChild(el("li", {cls: "hint", text: name}));
      if (!rows.length) ul.appendChild(el("li", {text: t("No edits yet.")}));
      rows.forEach(function (r) {
        var what = {propose: t("proposed"), close: t("closed"), reopen: t("reopened")}[r.action] || r.action;
        ul.appendChild(el("li", {text: when(r.created_at) + " · " + r.actor + " · " + what + (r.reason ? ": " + r.reason : "")}));
      });
    }).catch(function (err) { clear(byId("history")).appendChild(el("li", {cls: "error", text: failMessage(err)})); });
  }

  // venues -----------------------------------------------------------------
  function drawVenues() {
    if (!map || !state.data.venues_fc) return;
    layers.venues.clearLayers();
    layers.venues.addLayers(state.data.venues_fc.features.map(function (f) {
      var p = f.properties;
      var cls = "gp-venue cat-" + p.category + (state.picks.require_sites[f.id] ? " gp-required" : "");
      var mk = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {title: p.name || p.id, alt: p.name || p.id,
        icon: L.divIcon({className: "gp-marker", iconSize: [9, 9], html: '<div class="' + cls + '"></div>'})});
      mk.on("click", function () {
        var box = el("div", {cls: "popup"}, [el("h3", {text: p.name || p.id}),
          el("p", {text: CATEGORY_LABEL(p.category) + " · " + townInfo(p.town_code).name}),
          el("p", {text: t("Footfall per day") + ": " + num(p.footfall)})]);
        if (mayEdit(p.county_code) && state.config.require_sites) {
          box.appendChild(el("div", {cls: "actions"}, [el("button", {type: "button", "data-testid": "require-venue",
            text: state.picks.require_sites[f.id] ? t("Stop requiring this venue") : t("Require a new point here"),
            onclick: function () { togglePick("require_sites", f.id, p.name || p.id); }})]));
        }
        L.popup().setLatLng(mk.getLatLng()).setContent(box).openOn(map);
      });
      return mk;
    }));
  }

  // proposing a station ---------------------------------------------------
  function bindPropose() {
    byId("propose").addEventListener("click", function () {
      state.proposing = !state.proposing;
      byId("map").style.cursor = state.proposing ? "crosshair" : "";
      byId("propose").setAttribute("aria-pressed", state.proposing ? "true" : "false");
      byId("job-message").textContent = state.proposing ? t("Click the map where the new station should be.") : "";
    });
  }
  function onMapClick(ev) {
    if (!state.proposing) return;
    state.proposing = false;
    byId("map").style.cursor = "";
    byId("propose").setAttribute("aria-pressed", "false");
    var shown = ev.latlng;
    var back = state.coords === "gcj02"
      ? api("GET", "/workspace/crs/wgs84?coords=gcj02&lon=" + shown.lng + "&lat=" + shown.lat)
      : Promise.resolve({lon: shown.lng, lat: shown.lat});
    back.then(function (wgs) {
      var name = el("input", {type: "text", maxlength: "200", "data-testid": "propose-name", "aria-label": t("Name")});
      var tier = el("select", {"data-testid": "propose-tier", "aria-label": t("Tier")},
        TIERS.slice().reverse().map(function (x) { return el("option", {value: x, text: TIER_LABEL(x)}); }));
      var reason = el("input", {type: "text", maxlength: "1000", "data-testid": "propose-reason", "aria-label": t("Reason for the change")});
      var msg = el("p", {cls: "error", role: "alert"});
      var box = el("div", {cls: "popup"}, [el("h3", {text: t("Propose a new station here")}),
        el("label", {text: t("Name")}), name, el("label", {text: t("Tier")}), tier,
        el("label", {text: t("Reason for the change")}), reason,
        el("div", {cls: "actions"}, [el("button", {type: "button", "data-testid": "propose-submit", text: t("Propose"),
          onclick: function () {
            api("POST", "/stations", {name: name.value || t("New station"), tier: tier.value, lon: wgs.lon, lat: wgs.lat,
              reason: reason.value}).then(function (edit) {
              map.closePopup();
              return loadLayers().then(function () { drawStations(); showHistory(edit.station_id, name.value); });
            }).catch(function (err) { msg.textContent = failMessage(err); });
          }})]), msg]);
      L.popup().setLatLng(shown).setContent(box).openOn(map);
      name.focus();
    });
  }

  // legend -----------------------------------------------------------------
  function drawLegend() {
    var box = clear(byId("legend"));
    var compare = !!state.compare;
    box.appendChild(el("h4", {text: compare ? t("Change in share within reach (B − A)") : t("Share of people within reach")}));
    var bar = el("div", {cls: "lg-bar"});
    for (var i = 0; i < 5; i++) bar.appendChild(el("span", {cls: (compare ? "diff" : "share") + i}));
    box.appendChild(bar);
    var ticks = compare ? ["−5%", "0", "+5%"] : ["0%", "50%", "100%"];
    box.appendChild(el("div", {cls: "lg-ticks"}, ticks.map(function (x) { return el("span", {text: x}); })));
    TIERS.forEach(function (tier) {
      box.appendChild(el("div", {cls: "lg-row"}, [el("span", {cls: "sw"}, [el("div", {cls: "gp-icon gp-" + tier})]),
        el("span", {text: TIER_LABEL(tier)})]));
    });
    [["gp-icon gp-point gp-open", t("New point")], ["gp-icon gp-station gp-close", t("Closed")],
      ["gp-icon gp-point gp-proposed", t("Proposed")]].forEach(function (r) {
      box.appendChild(el("div", {cls: "lg-row"}, [el("span", {cls: "sw"}, [el("div", {cls: r[0]})]), el("span", {text: r[1]})]));
    });
    if (byId("show-venues").checked && state.config) {
      state.config.categories.forEach(function (c) {
        box.appendChild(el("div", {cls: "lg-row"}, [el("span", {cls: "sw gp-venue cat-" + c}), el("span", {text: CATEGORY_LABEL(c)})]));
      });
    }
    if (state.assignment) box.appendChild(el("div", {cls: "lg-row"}, [el("span", {text: "—"}), el("span", {text: t("Deputy groups → stations")})]));
    drawTowns();
  }

  // ------------------------------------------------------------------ tabs
  function selectTab(name) {
    ["whatif", "plans", "edits"].forEach(function (n) {
      byId("tab-" + n).setAttribute("aria-selected", n === name ? "true" : "false");
      byId("panel-" + n).hidden = n !== name;
    });
    if (name === "plans" && state.user) refreshPlans();
  }
  function bindTabs() {
    ["whatif", "plans", "edits"].forEach(function (n) {
      byId("tab-" + n).addEventListener("click", function () { selectTab(n); });
    });
    byId("compare").addEventListener("click", function () { state.compare = null; runCompare(); });
  }

  // ------------------------------------------------------------------ boot
  function boot() {
    var lang = "zh";
    try { lang = window.localStorage.getItem(LANG_KEY) || "zh"; } catch (e) { /* private mode */ }
    if (lang !== "zh" && lang !== "en") lang = "zh";
    bindLogin();
    bindRun();
    bindSave();
    bindTabs();
    bindPropose();
    loadLang(lang).then(function () {
      return api("GET", "/workspace/session").then(function (s) { return s.signed_in ? signedIn(s) : showLogin(); });
    }).catch(function (err) {
      if (window.console) window.console.error(err);
      byId("job-message").textContent = failMessage(err);
    });
  }
  document.addEventListener("DOMContentLoaded", boot);
})();
