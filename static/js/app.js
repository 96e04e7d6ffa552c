// Small behaviours shared by every page. No dependencies.
(function () {
  "use strict";
  // The organization switcher submits as soon as another organization is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // A form that destroys something asks first (the question is in its data-confirm attribute).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
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
