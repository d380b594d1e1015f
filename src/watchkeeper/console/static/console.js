// Live countdowns to approvals' deadlines: every element with data-deadline (epoch seconds).
// The page works without this; it only keeps the "in 12 min" figures current.
(function () {
  function left(seconds) {
    if (seconds <= 0) return "passed";
    if (seconds < 90) return "in " + Math.floor(seconds) + " s";
    if (seconds < 5400) return "in " + Math.round(seconds / 60) + " min";
    return "in " + (seconds / 3600).toFixed(1) + " h";
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var at = parseFloat(el.getAttribute("data-deadline"));
      if (!isNaN(at)) el.textContent = left(at - now);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    // Forms carry the session's token; htmx requests (GET only here) need nothing more.
  });
})();
