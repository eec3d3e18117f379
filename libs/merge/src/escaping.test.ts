import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanText } from './clean-text.js';
import { neutralize } from './csv-report.js';
import { escapeHtml } from './html-report.js';
import { percentile } from './percentile.js';
import { xmlAttr, xmlText } from './xml.js';

test('xmlText drops what XML 1.0 forbids and ANSI escapes, and escapes markup', () => {
  assert.equal(
    xmlText('a\u0000b\u0001c\u001b[31mred\u001b[0m ]]> <x> & \uffff\ud800z'),
    'abcred ]]&gt; &lt;x&gt; &amp; z',
  );
  // a lone CR (which lets text overwrite a line on a terminal) becomes a newline
  assert.equal(xmlText('tab\tnl\ncr\r'), 'tab\tnl\ncr\n');
  assert.equal(xmlText('c1\u009b2J bidi\u202ex\u2066 osc\u001b]52;c;QQ==\u0007.'), 'c1 bidix osc.');
  assert.equal(xmlAttr('say "hi"\n'), 'say &quot;hi&quot;&#10;');
  assert.equal(xmlText('emoji 😀 ok'), 'emoji 😀 ok');
});

test('xmlText and xmlAttr give plain text as it is only when the full rules would', () => {
  // the full rules, without the fast path (xml.ts), for each character and in a word
  const slowText = (t: string) =>
    cleanText(t)
      .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;');
  const slowAttr = (t: string) =>
    slowText(t).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
  for (let c = 0; c < 0x300; c++) {
    for (const t of [String.fromCharCode(c), `a${String.fromCharCode(c)}b`]) {
      assert.equal(xmlText(t), slowText(t), `xmlText of U+${c.toString(16)}`);
      assert.equal(xmlAttr(t), slowAttr(t), `xmlAttr of U+${c.toString(16)}`);
    }
  }
  assert.equal(xmlAttr('T0000001 get item 1 from the catalogue'), 'T0000001 get item 1 from the catalogue');
  assert.equal(xmlAttr(''), '');
});

test('CSV formula cells get a leading quote, others stay', () => {
  for (const c of ['=1+1', '+1', '-1', '@A1', '\t=x', '\n=x']) assert.equal(neutralize(c), `'${c}`);
  // cleaned first: a CR becomes a newline, escapes go, and what is left is neutralized
  assert.equal(neutralize('\r=x'), "'\n=x");
  assert.equal(neutralize('\u001b[31m=1+1'), "'=1+1");
  for (const c of ['plain', '1', ' =x', '']) assert.equal(neutralize(c), c);
});

test('text in the HTML is escaped: markup from data shows as text', () => {
  assert.equal(
    escapeHtml('</script><script>alert(1)</script>'),
    '&#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;',
  );
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
});

test('percentile is nearest-rank', () => {
  const sorted = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(percentile(sorted, 50), 5);
  assert.equal(percentile(sorted, 95), 10);
  assert.equal(percentile(sorted, 10), 1);
  assert.equal(percentile(new Float64Array(0), 50), 0);
});
