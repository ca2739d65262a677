/* Branch Assistant dashboard (Telegram Mini App). No CDN: Chart.js is served by the bot.
   initData comes from Telegram in the URL fragment (tgWebAppData) or from
   window.Telegram.WebApp when Telegram's script is present; it is exchanged once for a
   session token kept in sessionStorage (a reload reuses it). */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const tg = window.Telegram && window.Telegram.WebApp;

  function applyTheme() {
    let theme = tg && tg.themeParams;
    if (!theme || !Object.keys(theme).length) {
      try { theme = JSON.parse(hash.get("tgWebAppThemeParams") || "{}"); } catch (e) { theme = {}; }
    }
    const map = { bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
      button_color: "--button", button_text_color: "--button-text", secondary_bg_color: "--secondary-bg" };
    for (const [key, name] of Object.entries(map)) {
      if (typeof theme[key] === "string" && /^#[0-9a-fA-F]{3,8}$/.test(theme[key])) {
        document.documentElement.style.setProperty(name, theme[key]);
      }
    }
  }

  function fail(text) {
    $("status").hidden = true;
    $("main").hidden = true;
    $("error").hidden = false;
    $("error").textContent = text;
    document.body.dataset.state = "error";
  }

  async function session() {
    const kept = sessionStorage.getItem("bb_session");
    if (kept) return kept;
    const initData = (tg && tg.initData) || hash.get("tgWebAppData") || "";
    const res = await fetch("api/session", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ init_data: initData }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.session) throw new Error(body.error || "login refused");
    sessionStorage.setItem("bb_session", body.session);
    return body.session;
  }

  async function load(branch) {
    const token = await session();
    const url = "api/dashboard" + (branch ? "?branch=" + encodeURIComponent(branch) : "");
    const res = await fetch(url, { headers: { Authorization: "Bearer " + token } });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) sessionStorage.removeItem("bb_session");
    if (!res.ok || !body.ok) throw new Error(body.error || "refused");
    return body;
  }

  function cell(tr, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "—" : String(text);
    tr.appendChild(td);
    return td;
  }

  function rows(tbody, items, fn) {
    tbody.textContent = "";
    for (const item of items) {
      const tr = document.createElement("tr");
      fn(tr, item);
      tbody.appendChild(tr);
    }
  }

  const charts = {};
  function chart(id, config) {
    if (typeof Chart === "undefined") return;
    if (charts[id]) charts[id].destroy();
    const style = getComputedStyle(document.documentElement);
    Chart.defaults.color = style.getPropertyValue("--text").trim() || "#1f2328";
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function render(data) {
    const L = data.labels;
    document.querySelectorAll("[data-label]").forEach((el) => { el.textContent = L[el.dataset.label] || ""; });
    $("title").textContent = L.title;
    $("who").textContent = data.user.name;
    $("status").hidden = true;
    $("main").hidden = false;
    const style = getComputedStyle(document.documentElement);
    const button = style.getPropertyValue("--button").trim() || "#c0392b";
    const hint = style.getPropertyValue("--hint").trim() || "#6b7280";

    $("compare-section").hidden = !data.branches.length;
    if (data.branches.length) {
      rows($("compare").tBodies[0], data.branches, (tr, b) => {
        tr.dataset.branch = b.id;
        if (b.flags.length) tr.className = "flagged";
        cell(tr, b.name); cell(tr, b.average); cell(tr, b.below_60);
        cell(tr, b.fee_rate === null ? null : b.fee_rate + "%"); cell(tr, b.reports_owed);
        cell(tr, b.exam_rate === null ? null : b.exam_rate + "%");
        const m = b.meetings;
        const held = cell(tr, m ? m.held + "/" + m.due : null);
        held.className = "meetings" + (m && m.missed.length ? " missed" : "");
        if (m && m.missed.length) held.title = L.not_held + " " + m.missed.join("、");
        cell(tr, b.flags.join("、"));
        const open = document.createElement("button");
        open.textContent = L.open_branch;
        open.addEventListener("click", () => show(b.id));
        tr.appendChild(document.createElement("td")).appendChild(open);
      });
      chart("compare-chart", { type: "bar", data: {
        labels: data.branches.map((b) => b.name),
        datasets: [{ label: L.average, data: data.branches.map((b) => b.average), backgroundColor: button },
                   { label: L.fee_rate, data: data.branches.map((b) => b.fee_rate), backgroundColor: hint }] } });
    }

    const br = data.branch;
    $("branch-section").hidden = !br;
    if (br) {
      $("branch-name").textContent = br.name + " · " + br.quarter;
      rows($("scores").tBodies[0], br.scores, (tr, s) => {
        tr.dataset.quarter = s.quarter;
        cell(tr, s.quarter); cell(tr, L.average + " " + (s.average === null ? "—" : s.average));
        cell(tr, L.below + " " + s.below_60);
      });
      chart("scores-chart", { type: "line", data: { labels: br.scores.map((s) => s.quarter),
        datasets: [{ label: L.average, data: br.scores.map((s) => s.average), borderColor: button, backgroundColor: button }] },
        options: { scales: { y: { suggestedMin: 0, suggestedMax: 110 } } } });
      rows($("fees").tBodies[0], br.fees, (tr, f) => {
        tr.dataset.month = f.month;
        cell(tr, f.month); cell(tr, L.paid + " " + f.paid + "/" + f.liable);
      });
      chart("fees-chart", { type: "bar", data: { labels: br.fees.map((f) => f.month),
        datasets: [{ label: L.liable, data: br.fees.map((f) => f.liable), backgroundColor: hint },
                   { label: L.paid, data: br.fees.map((f) => f.paid), backgroundColor: button }] } });
      $("reports").textContent = br.reports.period + " · " + L.submitted + " " + br.reports.submitted +
        " · " + L.owed + " " + br.reports.owed + " · " + L.overdue + " " + br.reports.overdue;
      const life = br.meetings;
      rows($("meetings").tBodies[0], life ? life.kinds : [], (tr, k) => {
        tr.dataset.kind = k.kind;
        if (k.missed.length) tr.className = "flagged";
        cell(tr, k.label); cell(tr, k.held + "/" + k.due);
        cell(tr, k.missed.length ? L.not_held + " " + k.missed.join("、") : "");
      });
      if (life && !life.kinds.length) rows($("meetings").tBodies[0], [L.empty], (tr, t) => { cell(tr, t).colSpan = 3; });
      $("lecture").textContent = life ? (life.lectured ? L.lectured : L.not_lectured) : "";
      $("talks").textContent = life ? L.talks + " " + (life.talk_people - life.talk_uncovered) + "/" + life.talk_people : "";
      rows($("members").tBodies[0], br.members, (tr, m) => { cell(tr, m.rank); cell(tr, m.name); cell(tr, m.total); });
      const kinds = [...new Set(br.ledger.map((e) => e.kind))];
      const select = $("kind");
      select.textContent = "";
      for (const [value, text] of [["", L.all_kinds], ...kinds.map((k) => [k, k])]) {
        const opt = document.createElement("option"); opt.value = value; opt.textContent = text; select.appendChild(opt);
      }
      $("search").placeholder = L.search;
      const filter = () => {
        const q = $("search").value.trim().toLowerCase();
        const kind = select.value;
        const shown = br.ledger.filter((e) => (!kind || e.kind === kind) &&
          (!q || (e.member + " " + e.item).toLowerCase().includes(q)));
        rows($("ledger").tBodies[0], shown, (tr, e) => { cell(tr, e.date); cell(tr, e.member); cell(tr, e.item); cell(tr, e.points); });
        if (!shown.length) rows($("ledger").tBodies[0], [L.empty], (tr, t) => { cell(tr, t).colSpan = 4; });
      };
      $("search").oninput = filter; select.onchange = filter; filter();
    }

    const own = data.own;
    $("own-section").hidden = !own || !!br;
    if (own && !br) {
      rows($("own").tBodies[0], own.quarters, (tr, q) => { cell(tr, q.quarter); cell(tr, q.total); });
      chart("own-chart", { type: "bar", data: { labels: own.quarters.map((q) => q.quarter),
        datasets: [{ label: L.points, data: own.quarters.map((q) => q.total), backgroundColor: button }] } });
    }
    document.body.dataset.state = "ready";
  }

  async function show(branch) {
    try { render(await load(branch)); } catch (e) { fail(e.message); }
  }

  applyTheme();
  if (tg && tg.ready) tg.ready();
  show(new URLSearchParams(location.search).get("branch"));
})();
