// Small behaviours shared by every page. No dependencies.
(function () {
  "use strict";
  // The organization switcher submits as soon as another organization is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
