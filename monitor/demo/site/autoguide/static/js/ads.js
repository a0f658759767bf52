// Demo stub: no ads are loaded.
var googletag = window.googletag || { cmd: [] };
