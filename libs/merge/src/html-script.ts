/**
 * The script inside the HTML report. The page is whole without it (charts, tables and
 * failures are rendered on the server); it only adds search, a status filter and sorting
 * to the tests table, reading the cells' text and moving or hiding rows, never writing
 * markup. Plain ES2017, no libraries, no network. A link can carry the view:
 * `report.html#q=timeout&status=failed&sort=-ms` (`-` sorts descending).
 */
export const HTML_SCRIPT = `
(function () {
  var table = document.getElementById('tests');
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(body.rows).map(function (tr, i) {
    var cells = Array.prototype.map.call(tr.cells, function (td) { return td.textContent; });
    return { tr: tr, cells: cells, text: cells.join(' ').toLowerCase(), status: cells[2], at: i };
  });
  var filter = document.getElementById('filter');
  var status = document.getElementById('status-filter');
  var shown = document.getElementById('shown');
  var sortCol = -1, sortDir = 1;

  function apply() {
    var q = filter.value.toLowerCase().trim();
    var s = status.value;
    var n = 0;
    rows.forEach(function (r) {
      var hit = (q === '' || r.text.indexOf(q) !== -1) && (s === '' || r.status === s);
      r.tr.hidden = !hit;
      if (hit) n++;
    });
    shown.textContent = String(n);
    document.body.setAttribute('data-visible-rows', String(n));
  }

  function sortBy(col, dir) {
    sortCol = col;
    sortDir = dir;
    var numeric = heads[col].className.indexOf('num') !== -1;
    var sorted = rows.slice().sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col], c;
      if (numeric) {
        var nx = x === '' ? -Infinity : Number(x), ny = y === '' ? -Infinity : Number(y);
        c = nx - ny;
      } else c = x.localeCompare(y);
      return c !== 0 ? c * dir : a.at - b.at;
    });
    sorted.forEach(function (r) { body.appendChild(r.tr); });
    heads.forEach(function (th, i) {
      if (i === col) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
  }

  heads.forEach(function (th, i) {
    th.tabIndex = 0;
    function go() { sortBy(i, sortCol === i ? -sortDir : 1); }
    th.addEventListener('click', go);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
  });
  filter.addEventListener('input', apply);
  status.addEventListener('change', apply);
  table.className += ' sortable';
  filter.parentNode.hidden = false;

  // The view from the link: #q=TEXT&status=STATUS&sort=[-]COLUMN
  var params = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var at = kv.indexOf('=');
    if (at > 0) params[kv.slice(0, at)] = decodeURIComponent(kv.slice(at + 1));
  });
  if (params.q) filter.value = params.q;
  if (params.status) status.value = params.status;
  if (params.sort) {
    var desc = params.sort.charAt(0) === '-';
    var name = desc ? params.sort.slice(1) : params.sort;
    heads.forEach(function (th, i) { if (th.textContent === name) sortBy(i, desc ? -1 : 1); });
  }
  apply();
  document.body.setAttribute('data-rows', String(rows.length));
  document.body.setAttribute('data-rendered', 'true');
})();
`;
