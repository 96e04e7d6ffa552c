// History's grid: a finished video plays, muted and looping, while the pointer or keyboard focus is on its card.
(function () {
  "use strict";
  document.querySelectorAll(".card[data-preview]").forEach(function (card) {
    var thumb = card.querySelector(".thumb");
    var video = null;
    function start() {
      if (!video) {
        video = document.createElement("video");
        video.muted = true;
        video.loop = true;
        video.playsInline = true;
        video.preload = "auto";
        video.className = "thumb-video";
        video.setAttribute("aria-hidden", "true");
        video.src = card.dataset.preview;
        thumb.appendChild(video);
      }
      video.play().catch(function () { /* not allowed or not loaded: the poster stays */ });
    }
    function stop() {
      if (video) video.pause();
    }
    card.addEventListener("mouseenter", start);
    card.addEventListener("mouseleave", stop);
    card.addEventListener("focusin", start);
    card.addEventListener("focusout", stop);
  });
})();
