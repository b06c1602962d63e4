// exechunt web UI: the little JavaScript the pages need (no framework, no
// inline handlers, nothing fetched from elsewhere). Pages work without it except
// the live query console, whose rows stream in over server-sent events.
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body == null ? "" : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
        return j;
      });
    });
  }

  // Pages waiting for one host's answer (process tree, scripts) reload when it comes.
  var wait = document.querySelector("[data-wait-query]");
  if (wait && window.EventSource) {
    var es = new EventSource("/ui/api/v1/queries/" + wait.getAttribute("data-wait-query") + "/events");
    var reload = function () { es.close(); window.location.reload(); };
    es.addEventListener("host", function (ev) { if (JSON.parse(ev.data).final) reload(); });
    es.addEventListener("summary", reload);
  }

  var form = document.getElementById("console");
  if (!form) return;

  // --- SQL completion from the embedded schema index ---
  var sql = document.getElementById("sql");
  var list = document.getElementById("sql-suggest");
  var tables = {}, tableNames = [];
  fetch(form.getAttribute("data-schema"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (s) {
      s.tables.forEach(function (t) { tables[t.name] = t; });
      tableNames = s.tables.map(function (t) { return t.name; }).sort(function (a, b) {
        var ea = tables[a].extension ? 0 : 1, eb = tables[b].extension ? 0 : 1;
        return ea - eb || (a < b ? -1 : a > b ? 1 : 0);
      });
    });
  var items = [], active = -1, wordStart = 0;

  function mentioned(text) {
    var re = /\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+(?:as\s+)?([A-Za-z_][A-Za-z0-9_]*))?/gi, m, out = { aliases: {}, tables: [] };
    while ((m = re.exec(text))) {
      if (!tables[m[1]]) continue;
      out.tables.push(m[1]);
      out.aliases[m[1].toLowerCase()] = m[1];
      if (m[2] && !/^(where|join|on|left|inner|cross|group|order|limit|using|natural)$/i.test(m[2])) out.aliases[m[2].toLowerCase()] = m[1];
    }
    return out;
  }

  function suggestions(force) {
    var pos = sql.selectionStart, before = sql.value.slice(0, pos);
    var m = /[A-Za-z0-9_.]*$/.exec(before), word = m[0];
    wordStart = pos - word.length;
    if (!force && word.replace(/.*\./, "").length < 1) return [];
    var prefix = word, alias = null, dot = word.lastIndexOf(".");
    if (dot >= 0) { alias = word.slice(0, dot).toLowerCase(); prefix = word.slice(dot + 1); wordStart = pos - prefix.length; }
    var lp = prefix.toLowerCase(), out = [];
    var ctx = mentioned(sql.value);
    if (alias !== null) {
      var t = ctx.aliases[alias] || (tables[alias] && alias);
      if (t) tables[t].columns.forEach(function (c) { if (c.toLowerCase().indexOf(lp) === 0) out.push({ text: c, kind: t }); });
      return out.slice(0, 60);
    }
    var afterFrom = /\b(from|join)\s+[A-Za-z0-9_]*$/i.test(before);
    if (!afterFrom) {
      var seen = {};
      ctx.tables.forEach(function (t) {
        tables[t].columns.forEach(function (c) {
          if (!seen[c] && c.toLowerCase().indexOf(lp) === 0) { seen[c] = 1; out.push({ text: c, kind: t }); }
        });
      });
    }
    tableNames.forEach(function (t) {
      if (t.toLowerCase().indexOf(lp) === 0) out.push({ text: t, kind: tables[t].extension ? "exechunt table" : "table" });
    });
    return out.slice(0, 60);
  }

  function close() {
    list.hidden = true; list.textContent = ""; items = []; active = -1;
    sql.setAttribute("aria-expanded", "false"); sql.removeAttribute("aria-activedescendant");
  }

  function show(force) {
    items = suggestions(force);
    if (!items.length || (items.length === 1 && !force && items[0].text === sql.value.slice(wordStart, sql.selectionStart))) { close(); return; }
    list.textContent = "";
    items.forEach(function (it, i) {
      var li = el("li", { role: "option", id: "sug-" + i, "aria-selected": "false" }, it.text);
      li.appendChild(el("small", null, it.kind));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); accept(i); });
      list.appendChild(li);
    });
    list.hidden = false; sql.setAttribute("aria-expanded", "true");
    move(0);
  }

  function move(i) {
    if (!items.length) return;
    active = (i + items.length) % items.length;
    Array.prototype.forEach.call(list.children, function (li, j) { li.setAttribute("aria-selected", j === active ? "true" : "false"); });
    var cur = list.children[active];
    sql.setAttribute("aria-activedescendant", cur.id);
    cur.scrollIntoView({ block: "nearest" });
  }

  function accept(i) {
    var it = items[i], pos = sql.selectionStart;
    sql.value = sql.value.slice(0, wordStart) + it.text + sql.value.slice(pos);
    var p = wordStart + it.text.length;
    sql.setSelectionRange(p, p);
    close(); sql.focus();
  }

  sql.addEventListener("keydown", function (e) {
    if (e.key === " " && e.ctrlKey) { e.preventDefault(); show(true); return; }
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); close(); form.requestSubmit(); return; }
    if (list.hidden) return;
    if (e.key === "ArrowDown") { e.preventDefault(); move(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); move(active - 1); }
    else if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); accept(active); }
    else if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  sql.addEventListener("input", function () { show(false); });
  sql.addEventListener("blur", function () { setTimeout(close, 100); });

  // --- running and following a query ---
  var status = document.getElementById("status");
  var progress = document.getElementById("progress");
  var hostList = document.getElementById("host-progress");
  var table = document.getElementById("results");
  var rowCount = document.getElementById("row-count");
  var cancelBtn = document.getElementById("cancel");
  var runBtn = document.getElementById("run");
  var csvLink = document.getElementById("export-csv"), jsonLink = document.getElementById("export-json");
  var MAX_DRAWN = 5000;
  var cur = null;

  function selectOrder(text) {
    var m = /^\s*select\s+([\s\S]*?)\s+from\s/i.exec(text);
    if (!m) return [];
    var parts = [], depth = 0, start = 0, s = m[1];
    for (var i = 0; i < s.length; i++) {
      var c = s[i];
      if (c === "(") depth++; else if (c === ")") depth--;
      else if (c === "," && depth === 0) { parts.push(s.slice(start, i)); start = i + 1; }
    }
    parts.push(s.slice(start));
    var out = [];
    for (var j = 0; j < parts.length; j++) {
      var p = parts[j].trim(), a = /\bas\s+"?([A-Za-z0-9_]+)"?\s*$/i.exec(p);
      if (a) { out.push(a[1]); continue; }
      if (/\*$/.test(p)) return out.length ? out : [];
      var id = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(p);
      if (id) out.push(id[1]);
    }
    return out;
  }

  function follow(id, sqlText) {
    if (cur && cur.es) cur.es.close();
    cur = { id: id, hosts: {}, total: 0, done: 0, rows: 0, cols: [], order: selectOrder(sqlText || sql.value) };
    table.tHead.textContent = ""; table.tBodies[0].textContent = "";
    hostList.textContent = ""; rowCount.textContent = "";
    progress.value = 0; progress.max = 1;
    csvLink.hidden = jsonLink.hidden = true;
    status.textContent = "Query " + id + ": connecting…";
    if (window.history.replaceState) window.history.replaceState(null, "", "/ui/console?query=" + id);
    var es = new EventSource("/ui/api/v1/queries/" + id + "/events");
    cur.es = es;
    var mine = cur;
    es.addEventListener("query", function (ev) {
      var q = JSON.parse(ev.data);
      mine.total = q.hosts; progress.max = Math.max(q.hosts, 1);
      status.textContent = "Query " + id + " " + q.state + " on " + q.hosts + " host" + (q.hosts === 1 ? "" : "s") + "…";
      cancelBtn.hidden = q.state !== "running" || runBtn.disabled;
    });
    es.addEventListener("host", function (ev) { onHost(mine, JSON.parse(ev.data)); });
    es.addEventListener("row", function (ev) { onRow(mine, JSON.parse(ev.data)); });
    es.addEventListener("summary", function (ev) {
      es.close();
      var q = JSON.parse(ev.data), c = q.counts || {};
      status.textContent = "Query " + id + " " + q.state + ": " + (c.ok || 0) + " with rows, " + (c["no-rows"] || 0) +
        " without, " + (c.error || 0) + " errors, " + (c.offline || 0) + " offline; " + q.rows + " rows.";
      progress.value = progress.max;
      cancelBtn.hidden = true;
      csvLink.href = "/ui/queries/" + id + "/export?format=csv"; csvLink.hidden = false;
      jsonLink.href = "/ui/queries/" + id + "/export?format=json"; jsonLink.hidden = false;
      form.setAttribute("data-done", String(id));
    });
    es.onerror = function () {
      if (es.readyState === EventSource.CLOSED || mine !== cur) return;
      es.close();
      status.textContent = "Lost the result stream of query " + id + "; reload the page to see the rest.";
    };
  }

  var stepOf = { pending: 0, sent: 1 };
  function onHost(c, h) {
    var li = c.hosts[h.host_id];
    if (!li) {
      li = el("li", { "data-host": String(h.host_id) });
      li.appendChild(el("span", { "class": "hname" }, h.hostname || ("host " + h.host_id)));
      li.appendChild(el("span", { "class": "state" }));
      li.appendChild(el("progress", { max: "2", value: "0", "aria-label": "progress of " + (h.hostname || h.host_id) }));
      hostList.appendChild(li);
      c.hosts[h.host_id] = li;
    }
    var st = li.querySelector(".state");
    st.textContent = h.state + (h.rows ? " · " + h.rows + " rows" : "") + (h.message ? " · " + h.message : "");
    st.className = "state s-" + h.state; // app.css gives each state word its look
    li.querySelector("progress").value = h.final ? 2 : (stepOf[h.state] || 0);
    li.setAttribute("data-state", h.state);
    if (h.final && !li.hasAttribute("data-final")) { li.setAttribute("data-final", ""); c.done++; progress.value = c.done; }
  }

  function onRow(c, r) {
    var keys = Object.keys(r.columns);
    if (!c.cols.length) {
      c.cols = c.order.filter(function (k) { return keys.indexOf(k) >= 0; });
      keys.forEach(function (k) { if (c.cols.indexOf(k) < 0) c.cols.push(k); });
      var tr = el("tr");
      tr.appendChild(el("th", { scope: "col" }, "host"));
      c.cols.forEach(function (k) { tr.appendChild(el("th", { scope: "col" }, k)); });
      table.tHead.appendChild(tr);
    }
    c.rows++;
    rowCount.textContent = "(" + c.rows + (c.rows > MAX_DRAWN ? ", the first " + MAX_DRAWN + " drawn; export for all" : "") + ")";
    if (c.rows > MAX_DRAWN) return;
    var row = el("tr");
    row.appendChild(el("td", null, r.hostname));
    c.cols.forEach(function (k) { row.appendChild(el("td", null, r.columns[k] == null ? "" : r.columns[k])); });
    table.tBodies[0].appendChild(row);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var target = form.querySelector('input[name="target"]:checked').value, targets = {};
    if (target === "all") targets.all = true;
    else if (target === "platform") targets.platforms = Array.prototype.map.call(form.querySelectorAll('input[name="platform"]:checked'), function (i) { return i.value; });
    else targets.host_ids = Array.prototype.map.call(document.getElementById("hosts").selectedOptions, function (o) { return parseInt(o.value, 10); });
    if ((targets.platforms && !targets.platforms.length) || (targets.host_ids && !targets.host_ids.length)) {
      status.textContent = "Choose at least one " + (targets.platforms ? "platform" : "host") + ".";
      return;
    }
    runBtn.disabled = true;
    status.textContent = "Starting…";
    var text = sql.value;
    post("/ui/api/v1/queries", { sql: text, targets: targets, timeout: document.getElementById("timeout").value })
      .then(function (q) { follow(q.id, text); })
      .catch(function (err) { status.textContent = "Could not start the query: " + err.message; })
      .finally(function () { runBtn.disabled = false; });
  });

  cancelBtn.addEventListener("click", function () {
    if (!cur) return;
    post("/ui/api/v1/queries/" + cur.id + "/cancel").catch(function (err) { status.textContent = "Cancel failed: " + err.message; });
  });

  var f = form.getAttribute("data-follow");
  if (f) follow(parseInt(f, 10), sql.value);
})();
