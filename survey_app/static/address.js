// The page after a post is served at the post's address; show (and reload) it at its own.
(function () {
  var script = document.currentScript;
  var address = script && script.getAttribute("data-address");
  if (address && window.history && history.replaceState && location.pathname !== address) {
    history.replaceState(null, "", address);
  }
})();
