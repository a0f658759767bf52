// Demo stub: no analytics.
window.mwq = window.mwq || [];
