// The job page: keeps the status, elapsed time and result up to date without reloading, and says
// when the job ends in the tab's title and icon, and in a browser notification if the person asked.
(function () {
  "use strict";
  var live = document.getElementById("job-live");
  if (!live) return;
  var announce = document.getElementById("job-announce");
  var url = live.dataset.statusUrl;
  var POLL_MS = 1500;
  var tickStarted = performance.now();
  var ICONS = {
    succeeded: "<circle cx='8' cy='8' r='8' fill='#0f7b4d'/><path d='M4 8.5l2.5 2.5L12 5.5' stroke='white' stroke-width='2' fill='none'/>",
    other: "<circle cx='8' cy='8' r='8' fill='#b42318'/><path d='M5 5l6 6M11 5l-6 6' stroke='white' stroke-width='2'/>"
  };

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

  // The "on hold" message from the generate page is out of date once the job is charged or released.
  function ended(status, label, live_update) {
    document.querySelectorAll("[data-until-final]").forEach(function (el) { el.remove(); });
    var offer = document.querySelector("[data-notify-offer]");
    if (offer) offer.hidden = true;
    if (!live_update) return;
    var ok = status === "succeeded";
    document.title = document.title.replace(/^[^·]*·/, (ok ? "✓ " : "✗ ") + label + " ·");
    var icon = document.querySelector("link[rel~='icon']");
    if (icon) {
      icon.href = "data:image/svg+xml," + encodeURIComponent(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>" + (ok ? ICONS.succeeded : ICONS.other) + "</svg>");
    }
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      new Notification(ok ? "Your video is ready" : "Your video could not be made: " + label, { body: live.dataset.prompt });
    }
    var video = live.querySelector("video");
    // Shown the moment it is ready: plays muted, on a loop, until the person unmutes or pauses it.
    if (video) video.play().catch(function () { /* autoplay refused: the controls are there */ });
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
          if (window.HailuoStudio) window.HailuoStudio.localTimes(live);
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
        if (job.final) {
          ended(job.status, job.label, true);
        } else {
          document.title = document.title.replace(/^[^·]*·/, job.label + " ·");
          window.setTimeout(poll, POLL_MS);
        }
      })
      .catch(function () {
        // A dropped connection or a restart: keep trying, a little slower.
        window.setTimeout(poll, POLL_MS * 2);
      });
  }

  // Asking for notifications needs a click; offered only where the browser still may ask.
  var offer = document.querySelector("[data-notify-offer]");
  if (offer && window.Notification && Notification.permission === "default" && live.dataset.final !== "true") {
    offer.hidden = false;
    offer.querySelector("[data-notify]").addEventListener("click", function () {
      Notification.requestPermission().then(function () { offer.hidden = true; });
    });
  }

  if (live.dataset.final === "true") {
    ended(null, null, false);
  } else {
    window.setInterval(tick, 1000);
    window.setTimeout(poll, POLL_MS);
  }
})();
