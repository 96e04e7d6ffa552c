// Small behaviours shared by every page. No dependencies.
(function () {
  "use strict";
  // The organization switcher submits as soon as another organization is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // A form that destroys something asks first (the question is in its data-confirm attribute).
  // Listening on the document also covers forms a page's script puts in later (the job page's Cancel).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Times are written in UTC by the server; shown in the viewer's own time zone.
  var withTime = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
  var dateOnly = { year: "numeric", month: "short", day: "numeric" };
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = when.toLocaleString(undefined, el.dataset.format === "date" ? dateOnly : withTime);
    });
  }
  localTimes(document);
  window.HailuoStudio = { localTimes: localTimes };

  // Copy buttons: data-copy names the element whose text is copied. Shown only where the browser can copy.
  if (navigator.clipboard) {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        navigator.clipboard.writeText(("value" in source ? source.value : source.textContent).trim()).then(function () {
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = label; }, 2000);
        }, function () {
          button.textContent = "Copy failed: select the text instead";
        });
      });
    });
  }

  // On a phone the signed-in top bar folds into a Menu button (without this script it stays open).
  var toggle = document.querySelector("[data-nav-toggle]");
  if (toggle) {
    var bar = toggle.closest(".topbar");
    bar.classList.add("nav-collapsible");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = bar.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
