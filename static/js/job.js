// The job page: keeps the status, elapsed time and result up to date without reloading.
(function () {
  "use strict";
  var live = document.getElementById("job-live");
  if (!live) return;
  var announce = document.getElementById("job-announce");
  var url = live.dataset.statusUrl;
  var POLL_MS = 1500;
  var tickStarted = performance.now();

  function durationText(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    return seconds < 60 ? seconds + " s" : Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  }

  function tick() {
    var el = live.querySelector("[data-elapsed]");
    if (!el || el.dataset.running !== "true") return;
    var base = parseInt(el.dataset.seconds, 10) || 0;
    el.textContent = durationText(base + (performance.now() - tickStarted) / 1000);
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (job) {
        var previous = live.querySelector("[data-status]");
        var changed = !previous || previous.dataset.status !== job.status;
        if (changed || job.final) {
          live.innerHTML = job.html;
          if (announce) announce.textContent = "Status: " + job.label;
        } else {
          // Same state: only refresh the elapsed time's starting point.
          var fresh = document.createElement("div");
          fresh.innerHTML = job.html;
          var el = fresh.querySelector("[data-elapsed]");
          var mine = live.querySelector("[data-elapsed]");
          if (el && mine) mine.dataset.seconds = el.dataset.seconds;
        }
        tickStarted = performance.now();
        tick();
        live.dataset.final = job.final ? "true" : "false";
        document.title = document.title.replace(/^[^·]*·/, job.label + " ·");
        if (!job.final) window.setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        // A dropped connection or a restart: keep trying, a little slower.
        window.setTimeout(poll, POLL_MS * 2);
      });
  }

  if (live.dataset.final !== "true") {
    window.setInterval(tick, 1000);
    window.setTimeout(poll, POLL_MS);
  }
})();
