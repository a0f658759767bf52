(function () {
  // Demo stub: the real site wires up menus and lazy images here.
  document.documentElement.className += ' js';
})();
