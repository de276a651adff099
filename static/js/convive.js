// Quick exit: leave for a neutral site and replace this page in the history,
// so the back button does not return here. Escape pressed twice does the same.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) return;
  function leave(event) {
    if (event) event.preventDefault();
    document.body.hidden = true;
    window.location.replace(link.getAttribute("data-exit-url"));
  }
  link.addEventListener("click", leave);
  var last = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var now = Date.now();
    if (now - last < 800) leave();
    last = now;
  });
})();
