// The generate page: shows only the options the chosen model takes, enforces its rules as they
// change, checks and uploads frames, counts prompt characters and keeps the price up to date.
// The server checks everything again; this script only saves the user a round trip.
(function () {
  "use strict";
  var form = document.getElementById("generate-form");
  if (!form) return;
  var data = JSON.parse(document.getElementById("generate-data").textContent);
  var MAX_BYTES = 20 * 1024 * 1024;
  var MIN_SIDE = 300;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var submit = document.getElementById("generate-submit");
  var prompt = document.getElementById("id_prompt");
  var uploading = 0;

  function one(selector, root) { return (root || form).querySelector(selector); }
  function all(selector, root) { return Array.prototype.slice.call((root || form).querySelectorAll(selector)); }
  function inputs(name) { return all("input[name='" + name + "']"); }
  function checked(name) {
    var input = one("input[name='" + name + "']:checked:not(:disabled)");
    return input ? input.value : "";
  }
  function params() { return data.models[checked("model")].params; }
  function capitalize(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  function showError(name, message) {
    var el = document.getElementById("error-" + name);
    if (!el) return;
    el.textContent = message || "";
    el.hidden = !message;
    all("[aria-describedby~='error-" + name + "']").forEach(function (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }

  // --- Options and their rules -------------------------------------------------
  function showOption(name, visible) {
    all("[data-option='" + name + "']").forEach(function (box) {
      box.hidden = !visible;
      all("input", box).forEach(function (input) { input.disabled = !visible; });
    });
  }

  function offer(name, allowed, enabled) {
    inputs(name).forEach(function (input) {
      var label = input.closest("label");
      var shown = allowed.indexOf(input.value) !== -1;
      label.hidden = !shown;
      input.disabled = !shown || enabled.indexOf(input.value) === -1;
      label.classList.toggle("is-disabled", shown && input.disabled);
    });
  }

  function choose(name, preferred) {
    var current = one("input[name='" + name + "']:checked");
    if (current && !current.disabled) return;
    var usable = inputs(name).filter(function (input) { return !input.disabled; });
    var target = usable.filter(function (input) { return input.value === String(preferred); })[0];
    if (!target) target = usable[usable.length - 1];
    if (target) target.checked = true;
  }

  function apply() {
    var p = params();
    var hasMode = Boolean(p.mode);
    showOption("mode", hasMode);
    if (hasMode) {
      offer("mode", p.mode.allowed, p.mode.allowed);
      choose("mode", p.mode.default);
    }
    showOption("resolution", !hasMode);
    if (!hasMode) {
      offer("resolution", p.resolution.allowed, p.resolution.allowed);
      choose("resolution", p.resolution.default);
    }
    var resolution = hasMode ? p.mode.resolution[checked("mode")] : checked("resolution");

    // Some resolutions exist only at some lengths (1080p only at 6 s): longer lengths are greyed out.
    var limit = (p.resolution.max_duration || {})[resolution];
    var durations = p.duration.allowed.map(String);
    var usable = durations.filter(function (d) { return !limit || Number(d) <= limit; });
    var before = checked("duration");
    offer("duration", durations, usable);
    choose("duration", usable.indexOf(String(p.duration.default)) !== -1 ? p.duration.default : usable[usable.length - 1]);
    var note = one("[data-rule-note]");
    if (limit && usable.length < durations.length) {
      note.textContent = resolution + " is available only at " + limit + " s." +
        (before && before !== checked("duration") ? " Length changed to " + checked("duration") + " s." : "");
      note.hidden = false;
    } else {
      note.hidden = true;
    }

    showOption("prompt_optimizer", true);
    showOption("go_fast", Boolean(p.go_fast));

    var firstRequired = Boolean(p.first_frame_image && p.first_frame_image.required);
    one("[data-frame='first_frame_image'] [data-required-note]").textContent = firstRequired ? "(required)" : "(optional)";
    var last = one("[data-frame='last_frame_image']");
    last.hidden = !p.last_frame_image;
    all("input", last).forEach(function (input) { input.disabled = !p.last_frame_image; });
    if (!p.last_frame_image) showError("last_frame_image", "");
    if (!firstRequired && one("#error-first_frame_image").dataset.rule === "required") showError("first_frame_image", "");

    updatePrice(resolution);
  }

  // --- Price -----------------------------------------------------------------
  function updatePrice(resolution) {
    var slug = checked("model");
    var mode = params().mode ? checked("mode") : "";
    var duration = checked("duration");
    var parts = [slug, duration + "s", resolution];
    if (mode) parts.push(mode);
    var price = data.prices[parts.join(":")];
    document.getElementById("price").textContent = price ? price.display : "Not available";
    var desc = [data.models[slug].name, duration + " s", resolution];
    if (mode) desc.push(capitalize(mode));
    document.getElementById("variant-desc").textContent = desc.join(" · ");
    var short = Boolean(price) && price.micros > data.available_micros;
    document.getElementById("credit-short").hidden = !short;
    document.getElementById("credit-short-text").textContent = short
      ? "This video costs " + price.display + " but only " + data.available_display + " of credit is available."
      : "";
    priceBlocks = !price || short;
    refreshSubmit();
  }

  var priceBlocks = false;
  function refreshSubmit() {
    submit.disabled = priceBlocks || uploading > 0 || promptOver() > 0;
  }

  // --- Prompt ------------------------------------------------------------------
  // Never cut what the customer wrote: a prompt over the limit is shown as over and cannot be sent.
  var counter = document.getElementById("prompt-count");
  var maxPrompt = Number(counter.dataset.max);
  var overShown = false;
  // Counted in characters as the server counts them (an emoji is one, not two UTF-16 units).
  function promptLength() { return Array.from(prompt.value).length; }
  function promptOver() { return promptLength() - maxPrompt; }
  function count() {
    var length = promptLength();
    var over = promptOver();
    counter.textContent = length + " / " + maxPrompt + (over > 0 ? " · " + over + " over" : "");
    counter.classList.toggle("counter-near", over <= 0 && length > maxPrompt * 0.9);
    counter.classList.toggle("counter-over", over > 0);
    refreshSubmit();
  }
  function promptEdited() {
    count();
    var over = promptOver();
    if (over > 0) {
      showError("prompt", "The prompt is " + promptLength() + " characters; the limit is " + maxPrompt +
        ". Shorten it by " + over + " to generate.");
      overShown = true;
    } else if (overShown || (one("#error-prompt").textContent && prompt.value.trim())) {
      // The customer is fixing what was flagged (by this script or by the server): the flag goes.
      showError("prompt", "");
      overShown = false;
    }
  }
  prompt.addEventListener("input", promptEdited);

  // --- Frames ------------------------------------------------------------------
  function checkImage(file) {
    return new Promise(function (resolve, reject) {
      var type = (file.type || "").toLowerCase();
      var isImage = type === "image/png" || type === "image/jpeg" || (!type && /\.(png|jpe?g)$/i.test(file.name));
      if (!isImage) {
        reject(new Error("“" + file.name + "” is not a JPG or PNG image."));
        return;
      }
      if (file.size > MAX_BYTES) {
        reject(new Error("The image is " + (file.size / 1048576).toFixed(1) + " MB; images must be at most 20 MB."));
        return;
      }
      var url = URL.createObjectURL(file);
      var probe = new Image();
      probe.onload = function () {
        var w = probe.naturalWidth;
        var h = probe.naturalHeight;
        if (Math.min(w, h) <= MIN_SIDE) {
          reject(new Error("The image is " + w + "×" + h + " px; its shorter side must be over " + MIN_SIDE + " px."));
        } else if (2 * h > 5 * w || 2 * w > 5 * h) {
          reject(new Error("The image is " + w + "×" + h + " px; its shape must be between 2:5 (tall) and 5:2 (wide)."));
        } else {
          resolve({ url: url, width: w, height: h });
          return;
        }
        URL.revokeObjectURL(url);
      };
      probe.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("“" + file.name + "” could not be read as an image."));
      };
      probe.src = url;
    });
  }

  function setupFrame(box) {
    var field = box.dataset.frame;
    var hidden = one("input[type=hidden]", box);
    var fileInput = one("input[type=file]", box);
    var zone = one("[data-dropzone]", box);
    var img = one(".frame-preview", box);
    var text = one(".dropzone-text", box);
    var busy = one(".dropzone-busy", box);
    var info = one("[data-frame-info]", box);
    var remove = one("[data-remove]", box);

    function clear() {
      hidden.value = "";
      fileInput.value = "";
      img.hidden = true;
      img.removeAttribute("src");
      text.hidden = false;
      info.textContent = "";
      remove.hidden = true;
    }

    function upload(file, image) {
      var body = new FormData();
      body.append("field", field);
      body.append("file", file);
      img.src = image.url;
      img.hidden = false;
      text.hidden = true;
      busy.hidden = false;
      info.textContent = "Uploading…";
      uploading += 1;
      apply();
      return fetch(form.dataset.uploadUrl, {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          if (!response.ok || !json.id) {
            throw new Error((json.error && json.error.message) || "The upload failed (" + response.status + "). Please try again.");
          }
          hidden.value = json.id;
          fileInput.value = ""; // uploaded already: don't send the file again with the form
          info.textContent = json.width + "×" + json.height + " px";
          remove.hidden = false;
        });
      }).finally(function () {
        uploading -= 1;
        busy.hidden = true;
        apply();
      });
    }

    function take(file) {
      showError(field, "");
      checkImage(file)
        .then(function (image) { return upload(file, image); })
        .catch(function (error) {
          clear();
          showError(field, error.message);
        });
    }

    fileInput.addEventListener("change", function () {
      if (fileInput.files && fileInput.files[0]) take(fileInput.files[0]);
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) take(file);
    });
    remove.addEventListener("click", function () {
      clear();
      showError(field, "");
      fileInput.focus();
    });
  }

  // --- Submitting ----------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    var problems = [];
    if (!prompt.value.trim()) {
      showError("prompt", "Write a prompt: describe what should happen in the video.");
      problems.push(prompt);
    } else if (promptOver() > 0) {
      promptEdited();
      problems.push(prompt);
    }
    var p = params();
    var first = one("input[name='first_frame_image']");
    if (p.first_frame_image && p.first_frame_image.required && !first.value) {
      showError("first_frame_image", data.models[checked("model")].name + " needs a first frame image.");
      one("#error-first_frame_image").dataset.rule = "required";
      problems.push(one("#id_first_frame_file"));
    }
    if (uploading > 0 || problems.length) {
      event.preventDefault();
      if (problems.length) problems[0].focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Starting…";
  });
  window.addEventListener("pageshow", function () {
    submit.textContent = "Generate";
    apply();
  });

  all("[data-frame]").forEach(setupFrame);
  form.addEventListener("change", function (event) {
    if (["model", "mode", "duration", "resolution"].indexOf(event.target.name) !== -1) apply();
  });
  apply();
  count();
  // After the server refused the form, start where the first problem is.
  var firstError = all(".field-error").filter(function (el) { return !el.hidden; })[0];
  if (firstError) {
    var target = one("[aria-describedby~='" + firstError.id + "']");
    if (target) {
      target.setAttribute("aria-invalid", "true");
      target.focus();
    }
  }
})();
