// The graph page: draws /api/graph with vis-network (physics off, positions from the server),
// shows an entity's facts in the side panel on click, adds its neighbours on double-click, and
// focuses the entity found by the search box. Every string from the store goes into the page as
// text (textContent, plain-string tooltips), never as HTML.
(function () {
  "use strict";

  const container = document.getElementById("network");
  if (!container || !window.vis) {
    return;
  }
  const urls = container.dataset;
  const panel = document.getElementById("panel");
  const messageBox = document.getElementById("graph-message");
  const searchForm = document.getElementById("search-form");
  const searchInput = document.getElementById("search-input");
  const suggestions = document.getElementById("search-suggestions");

  // State shared with tests and the benchmark.
  const state = {
    nodes: new vis.DataSet(),
    edges: new vis.DataSet(),
    network: null,
    ready: false,
    readyAt: null,
  };
  window.kgGraph = state;

  const OPTIONS = {
    autoResize: true,
    physics: false,
    layout: { improvedLayout: false },
    interaction: { hover: true, tooltipDelay: 150, hideEdgesOnDrag: true, multiselect: false },
    nodes: {
      font: { face: "Noto Sans CJK SC, Noto Sans SC, sans-serif", size: 14, strokeWidth: 3, strokeColor: "#ffffff" },
      scaling: { min: 8, max: 30, label: { enabled: false } },
      borderWidth: 1,
    },
    edges: {
      arrows: { to: { enabled: true, scaleFactor: 0.5 } },
      color: { color: "#9aa3ad", highlight: "#333333", hover: "#555555" },
      font: { face: "Noto Sans CJK SC, Noto Sans SC, sans-serif", size: 11, align: "horizontal", color: "#444444" },
      smooth: false,
      width: 1,
    },
  };

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function fromTemplate(template, name) {
    return template.replace("__NAME__", encodeURIComponent(name));
  }

  function httpUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function setMessage(text) {
    messageBox.textContent = text || "";
    messageBox.hidden = !text;
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok) {
      throw new Error(data.error || response.statusText);
    }
    return data;
  }

  // --- side panel ---

  function entityLink(name, current) {
    if (name === current) {
      return element("strong", name);
    }
    const link = element("a", name);
    link.href = fromTemplate(urls.entityPage, name);
    link.addEventListener("click", function (event) {
      if (state.nodes.get(name)) {
        event.preventDefault();
        focusNode(name);
      }
    });
    return link;
  }

  function articleLink(article) {
    const box = element("div", null, "source");
    if (!article) {
      return box;
    }
    const url = httpUrl(article.url);
    const title = element(url ? "a" : "span", article.title, "title");
    if (url) {
      title.href = url;
      title.target = "_blank";
      title.rel = "noopener noreferrer";
    }
    box.append(title);
    if (article.date) {
      box.append(" ", element("time", article.date));
    }
    if (article.site) {
      box.append(" ", element("span", article.site, "site"));
    }
    return box;
  }

  function factItem(fact, current) {
    const item = element("li", null, "fact");
    const line = element("div", null, "triple");
    line.append(entityLink(fact.subject, current), " ", element("span", fact.label, "rel"), " ",
      entityLink(fact.object, current));
    if (fact.role) {
      line.append(" ", element("span", fact.role, "role"));
    }
    if (fact.date) {
      line.append(" ", element("time", fact.date));
    }
    item.append(line);
    if (fact.evidence) {
      item.append(element("blockquote", fact.evidence, "evidence"));
    }
    item.append(articleLink(fact.article));
    return item;
  }

  function panelLinks(links) {
    const box = element("p", null, "actions");
    for (const [text, href] of links) {
      const link = element("a", text);
      link.href = href;
      box.append(link);
    }
    return box;
  }

  async function showEntity(name) {
    panel.replaceChildren(element("p", "Loading " + name + " …", "hint"));
    let data;
    try {
      data = await getJSON(fromTemplate(urls.apiEntity, name));
    } catch (error) {
      panel.replaceChildren(element("p", String(error.message || error), "error"));
      return;
    }
    const parts = [element("h2", data.name, "entity-name")];
    const meta = element("p", (data.type ? data.type + " " + data.type_label + " · " : "") +
      data.degree + " connected", "meta");
    parts.push(meta);
    if (data.aliases.length) {
      parts.push(element("p", "Also called: " + data.aliases.join("、"), "aliases"));
    }
    parts.push(panelLinks([["Entity page", data.url], ["Focus here", data.graph_url]]));
    for (const group of data.groups) {
      const section = element("section", null, "group group-" + group.key);
      section.append(element("h3", group.title));
      const list = element("ul", null, "fact-list");
      for (const fact of group.facts) {
        list.append(factItem(fact, data.name));
      }
      section.append(list);
      parts.push(section);
    }
    if (!data.groups.length) {
      parts.push(element("p", "No fact about " + data.name + " yet.", "empty"));
    }
    panel.replaceChildren(...parts);
    panel.scrollTop = 0;
  }

  async function showPath(from, to) {
    let data;
    try {
      data = await getJSON(urls.apiPath + "?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to));
    } catch (error) {
      panel.replaceChildren(element("p", String(error.message || error), "error"));
      return;
    }
    const parts = [element("h2", data.from + " → " + data.to),
      element("p", (data.path.length - 1) + " step" + (data.path.length === 2 ? "" : "s"), "meta")];
    for (const step of data.steps) {
      const section = element("section", null, "group");
      section.append(element("h3", step.from + " — " + step.to));
      const list = element("ul", null, "fact-list");
      for (const fact of step.facts) {
        list.append(factItem(fact, null));
      }
      section.append(list);
      parts.push(section);
    }
    panel.replaceChildren(...parts);
  }

  // --- graph ---

  function focusNode(name) {
    state.network.selectNodes([name]);
    state.network.focus(name, { scale: 1.2, animation: { duration: 300, easingFunction: "easeInOutQuad" } });
    showEntity(name);
  }

  async function expand(name) {
    const url = new URL(urls.api, window.location.href);
    url.searchParams.delete("from");
    url.searchParams.delete("to");
    url.searchParams.set("focus", name);
    url.searchParams.set("depth", "1");
    let data;
    try {
      data = await getJSON(url);
    } catch (error) {
      setMessage(String(error.message || error));
      return;
    }
    const centre = state.network.getPosition(name);
    const fresh = data.nodes.filter(function (node) { return !state.nodes.get(node.id); });
    const radius = 120 + 8 * fresh.length;
    fresh.forEach(function (node, i) {
      const angle = (2 * Math.PI * i) / fresh.length;
      node.x = centre.x + radius * Math.cos(angle);
      node.y = centre.y + radius * Math.sin(angle);
    });
    state.nodes.add(fresh);
    state.edges.add(data.edges.filter(function (edge) { return !state.edges.get(edge.id); }));
    setMessage(fresh.length ? "Added " + fresh.length + " neighbour" + (fresh.length === 1 ? "" : "s") +
      " of " + name + "." + (data.capped ? " " + data.message : "") : "All neighbours of " + name + " are shown.");
  }

  async function search(query) {
    if (state.nodes.get(query)) {
      focusNode(query);
      return;
    }
    const data = await getJSON(urls.apiSearch + "?q=" + encodeURIComponent(query) + "&limit=1");
    const hit = data.results[0];
    if (!hit) {
      setMessage("Nothing is called " + query + ".");
    } else if (state.nodes.get(hit.name)) {
      focusNode(hit.name);
    } else {
      window.location.assign(urls.graphPage + "?focus=" + encodeURIComponent(hit.name));
    }
  }

  let suggestTimer = null;
  function suggest(input) {
    window.clearTimeout(suggestTimer);
    const query = input.value.trim();
    if (!query) {
      return;
    }
    suggestTimer = window.setTimeout(function () {
      getJSON(urls.apiSearch + "?q=" + encodeURIComponent(query) + "&limit=10").then(function (data) {
        suggestions.replaceChildren(...data.results.map(function (hit) {
          const option = document.createElement("option");
          option.value = hit.name;
          option.label = hit.matched !== hit.name ? hit.matched : hit.type_label;
          return option;
        }));
      }).catch(function () { suggestions.replaceChildren(); });
    }, 150);
  }

  async function init() {
    const data = await getJSON(urls.api);
    const network = new vis.Network(container, {}, Object.assign({}, OPTIONS, { groups: data.groups }));
    state.network = network;
    network.once("afterDrawing", function () {
      state.ready = true;
      state.readyAt = performance.now();
      container.dataset.ready = "true";
    });
    network.on("click", function (params) {
      if (params.nodes.length) {
        showEntity(params.nodes[0]);
      }
    });
    network.on("doubleClick", function (params) {
      if (params.nodes.length) {
        expand(params.nodes[0]);
      }
    });
    state.nodes.add(data.nodes);
    state.edges.add(data.edges);
    network.setData({ nodes: state.nodes, edges: state.edges });
    if (data.path) {
      showPath(data.path[0], data.path[data.path.length - 1]);
    } else if (data.focus) {
      network.selectNodes([data.focus]);
      showEntity(data.focus);
    }
  }

  searchForm.addEventListener("submit", function (event) {
    const query = searchInput.value.trim();
    if (query) {
      event.preventDefault();
      search(query).catch(function (error) { setMessage(String(error.message || error)); });
    }
  });
  for (const input of document.querySelectorAll('input[list="search-suggestions"]')) {
    input.addEventListener("input", function () { suggest(input); });
  }
  init().catch(function (error) { setMessage("Cannot draw the graph: " + (error.message || error)); });
})();
