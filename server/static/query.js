// The query page: run the editor's query against /sparql, show the answer as a table, offer downloads.
// Everything from the server is put into the page with textContent, never as HTML.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("kg-config").textContent);
  const samples = JSON.parse(document.getElementById("kg-samples").textContent);
  const editor = document.getElementById("query");
  const form = document.getElementById("query-form");
  const status = document.getElementById("status");
  const notice = document.getElementById("notice");
  const errorBox = document.getElementById("error");
  const booleanBox = document.getElementById("boolean");
  const table = document.getElementById("result-table");
  const downloads = document.getElementById("downloads");
  const downloadLinks = document.getElementById("download-links");
  const FORMAT_LABELS = {
    json: "JSON", xml: "XML", csv: "CSV", tsv: "TSV",
    turtle: "Turtle", nt: "N-Triples", jsonld: "JSON-LD", rdfxml: "RDF/XML",
  };
  const FORMAT_EXTENSIONS = {
    json: "srj", xml: "srx", csv: "csv", tsv: "tsv", turtle: "ttl", nt: "nt", jsonld: "jsonld", rdfxml: "rdf",
  };
  // Longest namespace first, so that ent: wins over a shorter prefix of the same IRI.
  const prefixes = Object.entries(config.prefixes).sort((a, b) => b[1].length - a[1].length);

  document.querySelectorAll("[data-sample]").forEach((button) => {
    button.addEventListener("click", () => {
      editor.value = samples[Number(button.dataset.sample)].query;
      run();
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  editor.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      run();
    }
  });

  if (new URLSearchParams(window.location.search).has("query")) {
    run(); // a shared link: show its answer
  }

  async function run() {
    const query = editor.value;
    clear();
    status.textContent = "运行中… running";
    const started = performance.now();
    let response;
    try {
      response = await fetch(config.endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/sparql-results+json, application/n-triples;q=0.9",
        },
        body: new URLSearchParams({ query }),
      });
    } catch (error) {
      showError("网络错误 network error", String(error));
      return;
    }
    const elapsed = Math.round(performance.now() - started);
    if (!response.ok) {
      showError(`${response.status} ${response.statusText}`, await errorText(response));
      return;
    }
    const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
    let rows;
    let graph = false;
    if (type === "application/sparql-results+json") {
      const data = await response.json();
      if ("boolean" in data) {
        booleanBox.textContent = String(data.boolean);
        booleanBox.hidden = false;
        rows = 1;
      } else {
        showTable(data.head.vars, data.results.bindings.map((b) => data.head.vars.map((v) => b[v])));
        rows = data.results.bindings.length;
      }
    } else {
      const triples = parseNTriples(await response.text());
      showTable(["subject", "predicate", "object"], triples);
      rows = triples.length;
      graph = true;
    }
    status.textContent = `${rows} 行 rows · ${elapsed} ms`;
    const truncated = response.headers.get("X-KG-Truncated");
    if (truncated) {
      notice.textContent = `结果已截断 ${truncated}`;
      notice.hidden = false;
    }
    showDownloads(query, graph ? config.graphFormats : config.tableFormats);
    history.replaceState(null, "", `?query=${encodeURIComponent(query)}`);
  }

  function clear() {
    for (const element of [notice, errorBox, booleanBox, table, downloads]) {
      element.hidden = true;
    }
    table.replaceChildren();
    downloadLinks.replaceChildren();
  }

  async function errorText(response) {
    const text = await response.text();
    try {
      return JSON.parse(text).error || text;
    } catch {
      return text;
    }
  }

  function showError(title, message) {
    status.textContent = title;
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function showTable(columns, rows) {
    const head = table.createTHead().insertRow();
    for (const column of columns) {
      const th = document.createElement("th");
      th.textContent = column;
      head.append(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const term of row) {
        tr.append(cell(term));
      }
    }
    table.hidden = false;
  }

  function cell(term) {
    const td = document.createElement("td");
    if (!term) {
      return td;
    }
    if (term.type === "uri") {
      const local = term.value.startsWith(config.entityPrefix) ? term.value.slice(config.entityPrefix.length) : "";
      const element = document.createElement(local ? "a" : "span");
      if (local) {
        element.href = config.entityPath + local;
      }
      element.textContent = shorten(term.value);
      element.title = term.value;
      element.className = "iri";
      td.append(element);
    } else if (term.type === "bnode") {
      td.textContent = `_:${term.value}`;
      td.className = "bnode";
    } else {
      td.textContent = term.value;
      const tag = term["xml:lang"] ? `@${term["xml:lang"]}` : term.datatype ? shorten(term.datatype) : "";
      if (tag) {
        const small = document.createElement("small");
        small.textContent = tag;
        td.append(" ", small);
      }
    }
    return td;
  }

  function shorten(iri) {
    for (const [prefix, namespace] of prefixes) {
      if (iri.startsWith(namespace) && iri.length > namespace.length) {
        return `${prefix}:${iri.slice(namespace.length)}`;
      }
    }
    return `<${iri}>`;
  }

  function showDownloads(query, formats) {
    for (const format of formats) {
      const params = new URLSearchParams({ query, format });
      const link = document.createElement("a");
      link.href = `${config.endpoint}?${params}`;
      link.download = `result.${FORMAT_EXTENSIONS[format]}`;
      link.textContent = FORMAT_LABELS[format];
      const item = document.createElement("li");
      item.append(link);
      downloadLinks.append(item);
    }
    downloads.hidden = false;
  }

  // N-Triples, one triple a line, as written by the endpoint: terms become SPARQL JSON terms.
  const TERM = /\s*(?:<([^>]*)>|_:(\S+)|"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^>]*)>)?)/y;

  function parseNTriples(text) {
    const triples = [];
    for (const line of text.split("\n")) {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith("#")) {
        continue;
      }
      TERM.lastIndex = 0;
      const terms = [];
      for (let i = 0; i < 3; i += 1) {
        const match = TERM.exec(trimmed);
        if (!match) {
          break;
        }
        terms.push(toTerm(match));
      }
      if (terms.length === 3) {
        triples.push(terms);
      }
    }
    return triples;
  }

  function toTerm(match) {
    if (match[1] !== undefined) {
      return { type: "uri", value: unescapeNT(match[1]) };
    }
    if (match[2] !== undefined) {
      return { type: "bnode", value: match[2] };
    }
    const term = { type: "literal", value: unescapeNT(match[3]) };
    if (match[4]) {
      term["xml:lang"] = match[4];
    } else if (match[5]) {
      term.datatype = match[5];
    }
    return term;
  }

  const ESCAPES = { t: "\t", b: "\b", n: "\n", r: "\r", f: "\f", '"': '"', "'": "'", "\\": "\\" };

  function unescapeNT(text) {
    return text.replace(/\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))/g, (whole, u4, u8, char) => {
      if (u4 || u8) {
        return String.fromCodePoint(parseInt(u4 || u8, 16));
      }
      return ESCAPES[char] ?? whole;
    });
  }
})();
