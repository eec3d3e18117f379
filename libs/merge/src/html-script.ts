/**
 * The script inside the HTML report. It reads the data block as JSON and builds every
 * element with textContent / setAttribute, never innerHTML, so test names and response
 * text can only ever show as text. Plain ES2017, no libraries, no network.
 */
export const HTML_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('capi-data').textContent);
  var SVG = 'http://www.w3.org/2000/svg';
  var COLORS = { passed: '#2e7d32', failed: '#c62828', error: '#ef6c00', skipped: '#757575', missing: '#6a1b9a' };
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function bars(target, items, unit) {
    var W = 640, H = 180, pad = 24;
    var box = svg('svg', { viewBox: '0 0 ' + W + ' ' + (H + 40), role: 'img', class: 'chart' });
    var max = Math.max.apply(null, items.map(function (i) { return i.value; }).concat([1]));
    var w = (W - pad) / Math.max(1, items.length);
    items.forEach(function (it, i) {
      var h = Math.round((it.value / max) * H);
      var r = svg('rect', { x: pad + i * w + 1, y: H - h + 10, width: Math.max(1, w - 2), height: h, fill: it.color || '#1565c0' });
      r.appendChild(svg('title', {}, it.label + ': ' + it.value + (unit || '')));
      box.appendChild(r);
      if (items.length <= 12) box.appendChild(svg('text', { x: pad + i * w + w / 2, y: H + 28, 'text-anchor': 'middle' }, it.label + ' ' + it.value));
    });
    target.appendChild(box);
    return box;
  }
  function line(target, values) {
    var W = 640, H = 180;
    var box = svg('svg', { viewBox: '0 0 ' + W + ' ' + (H + 20), role: 'img', class: 'chart' });
    var max = Math.max.apply(null, values.concat([1]));
    var pts = values.map(function (v, i) {
      return ((i / Math.max(1, values.length - 1)) * (W - 10) + 5).toFixed(1) + ',' + (H - (v / max) * H + 10).toFixed(1);
    });
    box.appendChild(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: '#1565c0', 'stroke-width': 2 }));
    box.appendChild(svg('text', { x: 5, y: 14 }, 'peak ' + max + ' tests per ' + data.timeline.sliceMs + ' ms'));
    target.appendChild(box);
    return box;
  }
  var statuses = ['passed', 'failed', 'error', 'skipped', 'missing'];
  bars(document.getElementById('chart-status'), statuses.map(function (s) {
    return { label: s, value: data.counts[s], color: COLORS[s] };
  }));
  bars(document.getElementById('chart-latency'), data.histogram.counts.map(function (c, i) {
    return { label: '<= ' + data.histogram.bounds[i] + ' ms', value: c };
  }), ' tests');
  if (data.timeline.finished.length > 1) line(document.getElementById('chart-throughput'), data.timeline.finished);
  else document.getElementById('chart-throughput').appendChild(el('p', {}, 'Not enough timing data for a timeline.'));
  var groups = document.getElementById('failure-groups');
  data.failureGroups.forEach(function (g) {
    var tr = el('tr');
    tr.appendChild(el('td', { class: 'num' }, g.count));
    tr.appendChild(el('td', {}, g.reason));
    tr.appendChild(el('td', {}, g.examples.join(', ')));
    groups.appendChild(tr);
  });
  var body = document.querySelector('#tests tbody');
  var rows = data.tests.map(function (t) {
    var tr = el('tr', { class: 'st-' + t[2] });
    t.forEach(function (cell, i) { tr.appendChild(el('td', i === 3 || i === 4 ? { class: 'num' } : {}, cell)); });
    body.appendChild(tr);
    return { tr: tr, text: t.join(' ').toLowerCase() };
  });
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');
  function apply() {
    var q = filter.value.toLowerCase().trim();
    var n = 0;
    rows.forEach(function (r) {
      var hit = q === '' || r.text.indexOf(q) !== -1;
      r.tr.hidden = !hit;
      if (hit) n++;
    });
    shown.textContent = String(n);
    document.body.setAttribute('data-visible-rows', String(n));
  }
  filter.addEventListener('input', apply);
  // A link can carry a filter: report.html#q=failed
  var hash = /^#q=(.*)$/.exec(location.hash);
  if (hash) filter.value = decodeURIComponent(hash[1]);
  apply();
  document.body.setAttribute('data-rows', String(rows.length));
  document.body.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
  document.body.setAttribute('data-rendered', 'true');
})();
`;
