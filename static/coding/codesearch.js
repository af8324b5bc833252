// The workbench's codebook search, ranked on the server (best match first: id, label,
// group, then description and rules), the coding rules of the highlighted code, and the
// codebook tree's "Find" buttons. workbench.js shows the ranking in its combobox.
window.impactmodelCodeSearch = (function () {
  "use strict";
  var root = document.querySelector("[data-workbench]");
  if (!root) { return null; }
  var search = document.getElementById("code-search");
  var details = document.getElementById("code-details");
  var cache = {};

  // A promise of [{code, valence}, ...], best first; each query is asked once.
  function rank(query) {
    var key = query.trim();
    if (!cache[key]) {
      cache[key] = fetch(root.dataset.searchUrl + "?q=" + encodeURIComponent(key),
                         { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error("The code search failed (the server answered " + r.status + ")."); }
          return r.json();
        })
        .then(function (data) { return data.results; });
      cache[key].catch(function () { delete cache[key]; });
    }
    return cache[key];
  }

  // Beside the list: the definition, when to use, when not to and an example of the
  // highlighted code, following aria-activedescendant as the arrow keys move it.
  function showRules() {
    var id = search.getAttribute("aria-activedescendant");
    var option = id && document.getElementById(id);
    var rules = option && document.getElementById("rules-" + option.dataset.code.replace(/\./g, "-"));
    details.hidden = !rules;
    details.innerHTML = rules ? rules.innerHTML : "";
  }
  new MutationObserver(showRules).observe(search, { attributes: true, attributeFilter: ["aria-activedescendant"] });

  // The tree's "Find" button types the code's id into the search box.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-pick-code]");
    if (!b) { return; }
    search.value = b.dataset.pickCode;
    search.focus();
    search.dispatchEvent(new Event("input", { bubbles: true }));
  });

  return { rank: rank };
}());
