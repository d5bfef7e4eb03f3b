// Progressive enhancement only: every page works without this file.
// On the report form, score a CVSS vector as it is typed.
(function () {
  "use strict";
  var input = document.getElementById("cvss_vector");
  var out = document.getElementById("cvss-score");
  if (!input || !out || !window.fetch) return;
  var timer;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var v = input.value.trim();
      if (v === "") { out.textContent = ""; return; }
      fetch("/api/v1/cvss?vector=" + encodeURIComponent(v), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          out.textContent = res.ok
            ? "Score: " + res.body.score.toFixed(1) + " " + res.body.rating + " (CVSS " + res.body.version + ")"
            : res.body.error;
        })
        .catch(function () { out.textContent = ""; });
    }, 300);
  });
})();
